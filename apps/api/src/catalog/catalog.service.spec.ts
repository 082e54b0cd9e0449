import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ApiRootInfo, CatalogSnapshot, CollectionInfo, PrincipalInfo } from '@taxiway/domain';
import { catalogSnapshot, MemoryCatalogStore } from '@taxiway/testing';
import { CatalogService } from './catalog.service';

const root = (pk: number, name: string): ApiRootInfo => ({ pk, name, path: name, title: name, description: undefined, maxContentLength: 1 });
const collection = (pk: number, rootPk: number, name: string, id: string): CollectionInfo => ({
  pk,
  id,
  apiRootPk: rootPk,
  name,
  alias: undefined,
  title: name,
  description: undefined,
  mediaTypes: ['application/stix+json'],
});
const principal = (pk: number, name: string): PrincipalInfo => ({ pk, name, displayName: undefined, passwordHash: undefined, disabled: false });

const ID1 = '6f6d1c4e-3a2b-4c5d-8e9f-0a1b2c3d4e5f';
const ID2 = '0b8c2d3e-4f5a-4b6c-9d7e-8f9a0b1c2d3e';

/** Two roots; r1 holds c1 (alias "feed") and c2; r2 holds c3. p1 reads r1, and may write c1 only. */
const twoRoots = (): CatalogSnapshot =>
  catalogSnapshot({
    roots: [root(1, 'r1'), root(2, 'r2')],
    collections: [
      { ...collection(10, 1, 'c1', ID1), alias: 'feed' },
      collection(11, 1, 'c2', ID2),
      collection(12, 2, 'c3', '1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5'),
    ],
    principals: [principal(5, 'p1'), principal(6, 'p2')],
    rootGrants: [{ apiRootPk: 1, principalPk: 5, role: 'read' }],
    collectionGrants: [{ collectionPk: 10, principalPk: 5, read: undefined, write: true }],
  });

function service(store: MemoryCatalogStore): { catalog: CatalogService; errors: unknown[] } {
  const errors: unknown[] = [];
  const log = { error: (o: unknown) => errors.push(o), warn: () => undefined, info: () => undefined } as never;
  return { catalog: new CatalogService(store, log), errors };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('CatalogService', () => {
  it('serves nothing until the first reload, then the loaded roots and collections by path and pk', async () => {
    const { catalog } = service(new MemoryCatalogStore(twoRoots()));
    expect([catalog.loaded, catalog.rootByPath('r1')]).toEqual([false, undefined]);
    await catalog.reload();
    expect(catalog.loaded).toBe(true);
    expect(catalog.rootByPath('r1')?.pk).toBe(1);
    expect(catalog.rootByPk(2)?.path).toBe('r2');
    expect(catalog.collectionByPk(12)?.name).toBe('c3');
    expect([catalog.rootByPath('nope'), catalog.rootByPk(99), catalog.collectionByPk(99)]).toEqual([undefined, undefined, undefined]);
  });

  it('installs each later catalogue whole: removed roots and collections are gone, new ones appear', async () => {
    const store = new MemoryCatalogStore(twoRoots());
    const { catalog } = service(store);
    await catalog.reload();
    store.snapshot = catalogSnapshot({ roots: [root(3, 'r3')], collections: [collection(13, 3, 'c4', ID1)] });
    await catalog.reload();
    expect([catalog.rootByPath('r1'), catalog.collectionByPk(10)]).toEqual([undefined, undefined]);
    expect(catalog.rootByPath('r3')?.pk).toBe(3);
    expect(catalog.findCollection(root(3, 'r3'), ID1)?.pk).toBe(13);
  });

  it('never lets an earlier, slower reload put back an older catalogue', async () => {
    const store = new MemoryCatalogStore();
    store.hold();
    const { catalog } = service(store);
    const first = catalog.reload();
    const second = catalog.reload();
    store.finish(1, catalogSnapshot({ roots: [root(1, 'new')] }));
    await second;
    store.finish(0, catalogSnapshot({ roots: [root(1, 'old')] }));
    await first;
    expect(catalog.rootByPath('new')).toBeDefined();
    expect(catalog.rootByPath('old')).toBeUndefined();
  });

  it('installs an earlier reload that finishes first, then the later one over it', async () => {
    const store = new MemoryCatalogStore();
    store.hold();
    const { catalog } = service(store);
    const first = catalog.reload();
    const second = catalog.reload();
    store.finish(0, catalogSnapshot({ roots: [root(1, 'old')] }));
    await first;
    expect(catalog.rootByPath('old')).toBeDefined();
    store.finish(1, catalogSnapshot({ roots: [root(1, 'new')] }));
    await second;
    expect([catalog.rootByPath('old'), catalog.rootByPath('new')?.name]).toEqual([undefined, 'new']);
  });

  it("finds a root's collections by name or alias (TAXII 1.x) and by UUID in any case or alias (TAXII 2.1), never another root's", async () => {
    const { catalog } = service(new MemoryCatalogStore(twoRoots()));
    await catalog.reload();
    const r1 = catalog.rootByPath('r1')!;
    expect([catalog.collectionByName(r1, 'c1')?.pk, catalog.collectionByName(r1, 'feed')?.pk, catalog.collectionByName(r1, 'c3')]).toEqual([10, 10, undefined]);
    expect([catalog.findCollection(r1, ID2.toUpperCase())?.pk, catalog.findCollection(r1, 'feed')?.pk]).toEqual([11, 10]);
    expect([catalog.findCollection(r1, 'c1'), catalog.findCollection(catalog.rootByPath('r2')!, ID1)]).toEqual([undefined, undefined]);
  });

  it('exposes the access index of the installed catalogue: roles, overrides and visibility as granted', async () => {
    const store = new MemoryCatalogStore(twoRoots());
    const { catalog } = service(store);
    await catalog.reload();
    const [p1, p2] = [catalog.access.byName('p1')!, catalog.access.byName('p2')!];
    const c1 = catalog.collectionByPk(10)!;
    const c2 = catalog.collectionByPk(11)!;
    expect(catalog.access.access(c1, p1)).toMatchObject({ read: true, write: true });
    expect(catalog.access.access(c2, p1)).toMatchObject({ read: true, write: false });
    expect(catalog.access.access(c1, p2)).toMatchObject({ read: false, write: false });
    expect(catalog.access.visibleRoots(p1).map((r) => r.name)).toEqual(['r1']);
    // A reload that drops the grant takes it away.
    store.snapshot = { ...twoRoots(), rootGrants: [], collectionGrants: [] };
    await catalog.reload();
    expect(catalog.access.access(c1, p1)).toMatchObject({ read: false, write: false });
  });

  it('reloads periodically once watching, logs a failed reload and keeps the catalogue it has, and stops when closed', async () => {
    vi.useFakeTimers();
    const store = new MemoryCatalogStore(twoRoots());
    const { catalog, errors } = service(store);
    await catalog.reload();
    await catalog.watch(undefined, 1000, 100);
    store.snapshot = catalogSnapshot({ roots: [root(1, 'r1'), root(4, 'r4')] });
    await vi.advanceTimersByTimeAsync(1000);
    expect([store.loads, catalog.rootByPath('r4')?.pk]).toEqual([2, 4]);
    store.failing = new Error('database down');
    await vi.advanceTimersByTimeAsync(2000);
    expect(store.loads).toBe(4);
    expect(errors).toEqual([expect.objectContaining({ why: 'periodic' }), expect.objectContaining({ why: 'periodic' })]);
    expect(catalog.rootByPath('r4')?.pk).toBe(4);
    await catalog.close();
    await vi.advanceTimersByTimeAsync(5000);
    expect(store.loads).toBe(4);
  });
});
