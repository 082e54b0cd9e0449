import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startPostgres } from '@taxiway/testing';
import type { Cleanup } from './cleanup';
import type { BackendName } from './options';

/** Hands out fresh, empty databases, so that every measurement starts from the same state. */
export interface Backend {
  readonly name: BackendName;
  readonly label: string;
  /** Server environment (DATABASE_URL or TAXIWAY_DATA_DIR) for a new, empty database. */
  freshDatabase(tag: string): Promise<Record<string, string>>;
  close(): Promise<void>;
}

export const BACKEND_LABELS: Readonly<Record<BackendName, string>> = { postgres: 'PostgreSQL', pglite: 'PGlite' };

/** A throwaway PostgreSQL server (durable settings: fsync and synchronous_commit on). */
async function openPostgres(cleanup: Cleanup): Promise<Backend> {
  const pg = await startPostgres();
  const close = cleanup.add('postgres', () => pg.stop());
  return {
    name: 'postgres',
    label: BACKEND_LABELS.postgres,
    freshDatabase: async (tag) => ({ DATABASE_URL: await pg.createDatabase(`taxiway_bench_${tag}`) }),
    close,
  };
}

/** Embedded PGlite inside the server process, with its data directory on disk under `workDir`. */
function openPglite(workDir: string): Backend {
  return {
    name: 'pglite',
    label: BACKEND_LABELS.pglite,
    freshDatabase: (tag) => {
      const dir = join(workDir, `pglite-${tag}`);
      mkdirSync(dir, { recursive: true });
      return Promise.resolve({ TAXIWAY_DATA_DIR: dir });
    },
    close: () => Promise.resolve(),
  };
}

export async function openBackend(name: BackendName, workDir: string, cleanup: Cleanup): Promise<Backend> {
  return name === 'postgres' ? openPostgres(cleanup) : openPglite(workDir);
}
