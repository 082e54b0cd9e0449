import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOG_CHANNEL } from '@taxiway/store';
import { BACKENDS, state, type Backend } from './backends';

/** Counts catalogue announcements (NOTIFY) on a PostgreSQL server while `f` runs. */
async function announcements(b: Backend, f: () => Promise<unknown>): Promise<number> {
  const client = new Client({ connectionString: (b.ds.options as { url: string }).url });
  await client.connect();
  let n = 0;
  client.on('notification', (m) => {
    if (m.channel === CATALOG_CHANNEL) n++;
  });
  await client.query(`LISTEN ${CATALOG_CHANNEL}`);
  await f();
  // Notifications are delivered at commit; a round trip after it has them all in.
  await client.query('SELECT 1');
  await client.end();
  return n;
}

describe.each(BACKENDS)('desired-state apply on $name', (backend) => {
  let b: Backend;
  beforeAll(async () => {
    b = await backend.open();
  });
  afterAll(async () => {
    await b.close();
  });

  it('creates, then re-applies with no change at all (idempotent)', async () => {
    const first = await b.catalog.applyDesiredState(state(), { prune: true });
    expect(first.created).toEqual(['Principal/p1', 'ApiRoot/r1', 'Collection/r1/c1', 'Collection/r1/c2']);
    const again = await b.catalog.applyDesiredState(state(), { prune: true });
    expect(again).toEqual({ created: [], updated: [], removed: [], retained: [] });
  });

  it('re-applies an unchanged state without rewriting a grant or announcing a change; a grant change is both', async () => {
    const base = state();
    await b.catalog.applyDesiredState(base, { prune: true });
    const versions = async (): Promise<string[]> =>
      (await b.ds.query<{ x: string }[]>(`SELECT xmin::text AS x FROM collection_grants UNION ALL SELECT xmin::text FROM api_root_grants`))
        .map((r) => r.x)
        .sort();
    const before = await versions();
    expect(before.length).toBeGreaterThan(0);
    const unchanged = async (): Promise<unknown> =>
      expect(await b.catalog.applyDesiredState(base, { prune: true })).toEqual({ created: [], updated: [], removed: [], retained: [] });
    if (backend.name === 'postgresql') expect(await announcements(b, unchanged)).toBe(0);
    else await unchanged();
    expect(await versions()).toEqual(before);

    const regranted = {
      ...base,
      collections: base.collections.map((c, i) => (i === 0 ? { ...c, grants: [{ principal: 'p1', read: true, write: false }] } : c)),
    };
    const changed = async (): Promise<unknown> => expect((await b.catalog.applyDesiredState(regranted, { prune: true })).updated).toEqual(['Collection/r1/c1']);
    if (backend.name === 'postgresql') expect(await announcements(b, changed)).toBe(1);
    else await changed();
    await b.catalog.applyDesiredState(base, { prune: true });
  });

  it("stores a principal's rate limit and re-applies it without change", async () => {
    const base = state();
    const limited = { ...base, principals: base.principals.map((p) => ({ ...p, rateLimit: { perSecond: 5, burst: 10 } })) };
    expect((await b.catalog.applyDesiredState(limited, { prune: true })).updated).toEqual(['Principal/p1']);
    expect((await b.catalog.loadCatalog()).principals[0]?.rateLimit).toEqual({ perSecond: 5, burst: 10 });
    expect(await b.catalog.applyDesiredState(limited, { prune: true })).toEqual({ created: [], updated: [], removed: [], retained: [] });
    await b.catalog.applyDesiredState(base, { prune: true });
    expect((await b.catalog.loadCatalog()).principals[0]?.rateLimit).toBeUndefined();
  });

  it('keeps a collection id across re-applies and alias swaps', async () => {
    const before = await b.catalog.loadCatalog();
    const s = state();
    const swapped = { ...s, collections: s.collections.map((c) => ({ ...c, alias: c.name === 'c1' ? 'c2' : 'c1' })) };
    await b.catalog.applyDesiredState(swapped, { prune: true });
    const after = await b.catalog.loadCatalog();
    expect(after.collections.map((c) => [c.name, c.id, c.alias])).toEqual(before.collections.map((c) => [c.name, c.id, c.alias === 'c1' ? 'c2' : 'c1']));
  });

  it('prunes: Delete-policy collections go, Retain-policy roots are hidden and come back with their data', async () => {
    await b.catalog.applyDesiredState(state(), { prune: true });
    const report = await b.catalog.applyDesiredState({ apiRoots: [], collections: [], principals: [] }, { prune: true });
    expect(report.removed).toEqual(expect.arrayContaining(['Principal/p1', 'Collection/c1', 'Collection/c2']));
    expect(report.retained).toEqual(['ApiRoot/r1']);
    expect((await b.catalog.loadCatalog()).roots).toEqual([]);
    const back = await b.catalog.applyDesiredState(state(), { prune: true });
    expect(back.updated).toContain('ApiRoot/r1');
    expect((await b.catalog.loadCatalog()).roots.map((r) => r.name)).toEqual(['r1']);
  });

  it('leaves the resources a prune is told to keep exactly as they are', async () => {
    await b.catalog.applyDesiredState(state(), { prune: true });
    const keep = { apiRoots: new Set(['r1']), collections: new Set(['r1/c1']), principals: new Set(['p1']) };
    const report = await b.catalog.applyDesiredState({ apiRoots: [], collections: [], principals: [] }, { prune: true, keep });
    expect(report).toEqual({ created: [], updated: [], removed: ['Collection/c2'], retained: [] });
    const cat = await b.catalog.loadCatalog();
    expect([cat.roots.map((r) => r.name), cat.collections.map((c) => c.name), cat.principals.map((p) => p.name)]).toEqual([['r1'], ['c1'], ['p1']]);
    expect(cat.collectionGrants).toHaveLength(1);
    await b.catalog.applyDesiredState(state(), { prune: true });
  });

  it('shares one generated secret between callers', async () => {
    const a = await b.catalog.secret('test-secret');
    expect(a.length).toBe(32);
    expect((await b.catalog.secret('test-secret')).equals(a)).toBe(true);
  });
});
