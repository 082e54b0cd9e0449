import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedDatabase {
  /** A postgres:// URL for the normal `pg` driver. */
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * The zero-set-up default: an embedded PGlite (PostgreSQL compiled to WASM) with its data directory
 * on disk, served to the ordinary `pg` driver over a loopback socket, so the same SQL and the same
 * migrations run as on a PostgreSQL server. PGlite executes one statement at a time; use a pool of 1.
 */
export async function startEmbeddedDatabase(dataDir: string | undefined): Promise<EmbeddedDatabase> {
  if (dataDir !== undefined) mkdirSync(dataDir, { recursive: true });
  const db = dataDir === undefined ? await PGlite.create() : await PGlite.create(dataDir);
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 4 });
  await server.start();
  const conn = server.getServerConn(); // host:port
  return {
    url: `postgres://postgres@${conn}/postgres?sslmode=disable`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
