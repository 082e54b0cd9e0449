import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDesiredStateFile } from '@taxiway/control';
import { basic, client, startServer, type RunningServer } from '../../../test/support/server';

/** Replays the README's curl commands against the real demo configuration file. */
describe('README demo', () => {
  let s: RunningServer;
  beforeAll(async () => {
    s = await startServer(loadDesiredStateFile(resolve(__dirname, '../../../config/demo.yaml')), { backend: 'pglite', realBaseUrl: true });
  });
  afterAll(async () => {
    await s.close();
  });

  it('serves discovery, the two collections, a POST and a read with the documented credentials', async () => {
    const demo = client(s.url, basic('demo', 'demo-password'));
    expect((await demo.get('/taxii2/')).json['api_roots']).toEqual([`${s.url}/demo/`]);
    const cols = (await demo.get('/demo/collections/')).json['collections'] as { alias: string; can_read: boolean; can_write: boolean }[];
    expect(cols.map((c) => [c.alias, c.can_read, c.can_write])).toEqual([
      ['indicators', true, true],
      ['feed', true, false],
    ]);
    const post = await demo.post('/demo/collections/indicators/objects/', {
      objects: [
        {
          type: 'indicator',
          spec_version: '2.1',
          id: 'indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f',
          created: '2024-01-01T00:00:00.000Z',
          modified: '2024-01-01T00:00:00.000Z',
          pattern: "[ipv4-addr:value = '198.51.100.1']",
          pattern_type: 'stix',
          valid_from: '2024-01-01T00:00:00Z',
        },
      ],
    });
    expect(post.json).toMatchObject({ status: 'complete', success_count: 1 });
    expect(((await demo.get('/demo/collections/indicators/objects/?limit=10')).json['objects'] as unknown[]).length).toBe(1);
    const reader = client(s.url, basic('reader', 'reader-password'));
    expect((await reader.get('/demo/collections/feed/objects/')).status).toBe(200);
    expect((await reader.post('/demo/collections/indicators/objects/', { objects: [{}] })).status).toBe(403);
  });
});
