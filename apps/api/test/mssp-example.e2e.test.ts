import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey } from '@taxiway/auth';
import { loadDesiredStateFile } from '@taxiway/control';
import { basic, client, startServer, type RunningServer } from '../../../test/support/server';
import { indicator, indicatorId } from './fixture';

/** The README's worked MSSP example, loaded from the very file it shows (config/examples/mssp.yaml). */
const FILE = resolve(__dirname, '../../../config/examples/mssp.yaml');
const SENTINEL_KEY = generateApiKey().key;
const ENV = {
  GRIDCO_PASSWORD: 'gridco-pw',
  BANK_ONE_PASSWORD: 'bank-one-pw',
  NORTHWIND_PASSWORD: 'northwind-pw',
  NORTHWIND_SENTINEL_KEY: SENTINEL_KEY,
  ANALYST_PASSWORD: 'mssp-analyst-pw',
};
const ROOT_URL = (r: string) => `https://taxii.example.test/${r}/`;

describe('README worked example: an MSSP with two trust groups (config/examples/mssp.yaml)', () => {
  let s: RunningServer;
  beforeAll(async () => {
    s = await startServer(loadDesiredStateFile(FILE, ENV));
  });
  afterAll(async () => {
    await s?.close();
  });
  const as = (who: string) => client(s.url, who === 'northwind-key' ? `Bearer ${SENTINEL_KEY}` : basic(who));

  const seen = async (who: string) => {
    const roots = ((await as(who).get('/taxii2/')).json['api_roots'] ?? []) as string[];
    const colls: string[] = [];
    for (const r of ['energy-isac', 'finance-isac']) {
      const list = await as(who).get(`/${r}/collections/`);
      for (const c of (list.json['collections'] ?? []) as { alias: string; can_read: boolean; can_write: boolean }[])
        colls.push(`${r.split('-')[0]}:${c.alias}:${c.can_read ? 'r' : '-'}${c.can_write ? 'w' : '-'}`);
    }
    return { roots, colls };
  };

  it('shows each caller exactly the roots and collections of the table', async () => {
    expect(await seen('gridco')).toEqual({ roots: [ROOT_URL('energy-isac')], colls: ['energy:indicators:rw', 'energy:board:r-'] });
    expect(await seen('bank-one')).toEqual({ roots: [ROOT_URL('finance-isac')], colls: ['finance:indicators:r-', 'finance:submissions:-w'] });
    const northwind = {
      roots: [ROOT_URL('energy-isac'), ROOT_URL('finance-isac')],
      colls: ['energy:indicators:rw', 'finance:indicators:r-', 'finance:submissions:-w'],
    };
    expect(await seen('northwind')).toEqual(northwind);
    expect(await seen('northwind-key')).toEqual(northwind);
    expect(await seen('mssp-analyst')).toEqual({
      roots: [ROOT_URL('energy-isac'), ROOT_URL('finance-isac')],
      colls: ['energy:indicators:rw', 'energy:board:rw', 'finance:indicators:rw', 'finance:submissions:rw'],
    });
  });

  it('answers bank-one for the energy ISAC exactly as for a path that does not exist; northwind gets 403 and 404 as described', async () => {
    const strip = (j: Record<string, unknown>) => ({ ...j, error_id: undefined });
    for (const [theirs, missing] of [
      ['/energy-isac/', '/no-such-isac/'],
      ['/energy-isac/collections/indicators/objects/', '/no-such-isac/collections/indicators/objects/'],
    ] as const) {
      const a = await as('bank-one').get(theirs);
      const b = await as('bank-one').get(missing);
      expect([a.status, strip(a.json)]).toEqual([404, strip(b.json)]);
    }
    expect((await as('northwind').get('/finance-isac/collections/submissions/objects/')).status).toBe(403);
    expect((await as('northwind').get('/energy-isac/collections/board/objects/')).status).toBe(404);
  });

  it('lets members drop into submissions, which the analyst reads, and records both in the audit of the root', async () => {
    const id = indicatorId();
    const post = await as('northwind-key').post('/finance-isac/collections/submissions/objects/', { objects: [indicator(id)] });
    expect(post.json).toMatchObject({ status: 'complete', success_count: 1 });
    const read = await as('mssp-analyst').get('/finance-isac/collections/submissions/objects/');
    expect(read.text).toContain(id);
    await s.server.audit.flush();
    const audit = await s.server.audit.query('finance-isac', { limit: 10 });
    expect(audit.map((a) => `${a.principal} ${a.action} ${a.collection ?? ''} ${a.objectCount}`)).toEqual([
      'mssp-analyst read finance-submissions 1',
      'northwind add finance-submissions 1',
    ]);
    expect(await s.server.audit.query('energy-isac', { limit: 10 })).toEqual([]);
  });
});
