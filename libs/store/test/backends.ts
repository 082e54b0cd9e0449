import type { DataSource } from 'typeorm';
import type { DesiredState } from '@taxiway/domain';
import { createDataSource, migrate, SqlCatalogStore, startEmbeddedDatabase } from '@taxiway/store';
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

export function state(collections: readonly string[] = ['c1', 'c2']): DesiredState {
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
      grants: [{ principal: 'p1', read: true, write: true }],
    })),
    principals: [{ name: 'p1', displayName: undefined, passwordHash: noPassword, disabled: false }],
  };
}
