import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../support/server';
import { RO, RW, STATE } from '../../apps/api/test/fixture';

const run = promisify(execFile);
const PYTHON = resolve(__dirname, '../../.venv-interop/bin/python');

describe.each(['postgresql', 'pglite'] as const)('interop: OASIS taxii2-client against Taxiway on %s', (backend) => {
  let s: RunningServer;
  beforeAll(async () => {
    if (!existsSync(PYTHON)) throw new Error(`${PYTHON} missing: run scripts/test-all.sh, which creates the interop virtualenv`);
    s = await startServer(STATE, { backend, realBaseUrl: true });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('discovers, lists collections, adds with status polling, pages, reads manifest and versions, deletes', async () => {
    const { stdout } = await run(PYTHON, [resolve(__dirname, 'taxii2client_flow.py'), s.url, 'alice', 'alice-pw', RW, RO], { timeout: 120_000 });
    const out = JSON.parse(stdout) as Record<string, unknown>;
    expect(out['title']).toBe('Taxiway');
    expect(out['root_title']).toBe('Tenant A');
    expect(out['max_content_length']).toBe(50_000);
    expect(out['collections']).toEqual(
      [
        [RW, true, true],
        [RO, true, false],
      ].sort(),
    );
    expect(out['add_status']).toEqual({ status: 'complete', total: 121, success: 121, failure: 0, pending: 0 });
    expect(out['polled_status']).toEqual({ id_matches: true, status: 'complete', success: 121 });
    expect(out['duplicate_status']).toEqual({ success: 3, failure: 0 });
    expect(out['paged_objects']).toBe(120);
    expect(out['paged_unique']).toBe(120);
    expect(out['pages']).toBe(5);
    expect(out['all_ids_seen']).toBe(true);
    expect(out['paged_all_versions']).toBe(121);
    expect(out['manifest_versions']).toEqual(['2024-01-01T00:00:00.000Z', '2024-02-01T00:00:00.000Z']);
    expect(out['get_object_latest']).toEqual(['2024-02-01T00:00:00.000Z']);
    expect(out['versions']).toEqual(['2024-01-01T00:00:00.000Z', '2024-02-01T00:00:00.000Z']);
    expect(out['after_delete']).toBe(404);
    expect(out['readonly_add']).toBe('AccessError');
  });
});
