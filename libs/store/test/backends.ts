import type { DataSource } from 'typeorm';
import type { CatalogSnapshot, DesiredState } from '@taxiway/domain';
import { createDataSource, migrate, SqlCatalogStore, SqlObjectStore, startEmbeddedDatabase } from '@taxiway/store';
import type { ObjectStoreFixture } from '@taxiway/testing';
import { freshDatabase } from '../../../test/support/db';

export interface Backend {
  readonly ds: DataSource;
  readonly catalog: SqlCatalogStore;
  close(): Promise<void>;
}

/** The same storage suite runs on a real PostgreSQL server and on the embedded PGlite default. */
export const BACKENDS: readonly { name: string; open(): Promise<Backend> }[] = [
  {
    name: 'postgresql',
    async open() {
      const ds = createDataSource(await freshDatabase('store'), 4);
      await ds.initialize();
      await migrate(ds);
      return { ds, catalog: new SqlCatalogStore(ds), close: () => ds.destroy() };
    },
  },
  {
    name: 'pglite',
    async open() {
      const db = await startEmbeddedDatabase(undefined);
      const ds = createDataSource(db.url, 1);
      await ds.initialize();
      await migrate(ds);
      return {
        ds,
        catalog: new SqlCatalogStore(ds),
        close: async () => {
          await ds.destroy();
          await db.stop();
        },
      };
    },
  },
];

export const noPassword = undefined;

/** Collections are named in order; `maxObjects` gives some of them a quota. */
export function state(collections: readonly string[] = ['c1', 'c2'], maxObjects: ReadonlyMap<string, number> = new Map()): DesiredState {
  return {
    apiRoots: [{ name: 'r1', path: 'r1', title: 'R1', description: undefined, maxContentLength: 1_000_000, deletionPolicy: 'Retain', grants: [] }],
    collections: collections.map((name) => ({
      name,
      apiRoot: 'r1',
      id: undefined,
      alias: name,
      title: name,
      description: undefined,
      mediaTypes: ['application/stix+json'],
      deletionPolicy: 'Delete' as const,
      ...(maxObjects.has(name) && { maxObjects: maxObjects.get(name) }),
      grants: [{ principal: 'p1', read: true, write: true }],
    })),
    principals: [{ name: 'p1', displayName: undefined, passwordHash: noPassword, disabled: false }],
  };
}

/**
 * A backend with state([]) applied, whose `createCollection` adds a collection (with an optional
 * quota) to the desired state and applies it, as the operator or a config file would: what the
 * storage contracts' fixtures need.
 */
export async function openContractBackend(backend: { open(): Promise<Backend> }): Promise<{
  readonly b: Backend;
  readonly catalog: CatalogSnapshot;
  createCollection(opts?: { maxObjects?: number }): Promise<{ pk: number; name: string }>;
}> {
  const b = await backend.open();
  const names: string[] = [];
  const quotas = new Map<string, number>();
  await b.catalog.applyDesiredState(state(names), { prune: true });
  return {
    b,
    catalog: await b.catalog.loadCatalog(),
    async createCollection(opts = {}) {
      const name = `k${names.length + 1}`;
      names.push(name);
      if (opts.maxObjects !== undefined) quotas.set(name, opts.maxObjects);
      await b.catalog.applyDesiredState(state(names, quotas), { prune: true });
      const made = (await b.catalog.loadCatalog()).collections.find((c) => c.name === name);
      if (made === undefined) throw new Error(`collection ${name} was not created`);
      return { pk: made.pk, name };
    },
  };
}

/** A backend as the object store contract takes it: the API root and principal of state([]). */
export async function openObjectStoreFixture(backend: { open(): Promise<Backend> }): Promise<ObjectStoreFixture> {
  const { b, catalog, createCollection } = await openContractBackend(backend);
  return {
    store: new SqlObjectStore(b.ds),
    apiRootPk: catalog.roots[0]!.pk,
    principalPk: catalog.principals[0]!.pk,
    createCollection: async (opts = {}) => (await createCollection(opts)).pk,
    close: () => b.close(),
  };
}
