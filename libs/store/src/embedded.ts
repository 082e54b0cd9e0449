import { mkdirSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

export interface EmbeddedDatabase {
  /** A postgres:// URL for the normal `pg` driver. */
  readonly url: string;
  stop(): Promise<void>;
}

/** What the database thread posts: where it listens, that it stopped, or why it could not start. */
type FromDatabaseThread = { readonly listening: string } | { readonly stopped: true } | { readonly failed: string };

/**
 * The database thread: PGlite and its socket server, on a thread of their own. The packages are
 * resolved here and their paths handed in, so the thread finds them wherever the process runs from.
 */
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { PGlite } = require(workerData.pglite);
const { PGLiteSocketServer } = require(workerData.socket);
(async () => {
  const db = workerData.dataDir === undefined ? await PGlite.create() : await PGlite.create(workerData.dataDir);
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 4 });
  await server.start();
  parentPort.on('message', async () => {
    await server.stop();
    await db.close();
    parentPort.postMessage({ stopped: true });
  });
  parentPort.postMessage({ listening: server.getServerConn() });
})().catch((e) => parentPort.postMessage({ failed: String(e && e.stack || e) }));
`;

/**
 * The zero-set-up default: an embedded PGlite (PostgreSQL compiled to WASM) with its data directory
 * on disk, served to the ordinary `pg` driver over a loopback socket, so the same SQL and the same
 * migrations run as on a PostgreSQL server. PGlite executes statements synchronously in WASM, so it
 * runs on a thread of its own: a statement that takes a second (a 100 MiB envelope's insert) holds
 * the database, never the server's event loop. PGlite executes one statement at a time; use a pool of 1.
 */
export async function startEmbeddedDatabase(dataDir: string | undefined): Promise<EmbeddedDatabase> {
  if (dataDir !== undefined) mkdirSync(dataDir, { recursive: true });
  const worker = new Worker(THREAD_SOURCE, {
    eval: true,
    workerData: { dataDir, pglite: require.resolve('@electric-sql/pglite'), socket: require.resolve('@electric-sql/pglite-socket') },
  });
  // An error on the thread ends it ('exit'): the pool's connections then fail and /readyz says so.
  worker.on('error', () => undefined);
  const next = (): Promise<FromDatabaseThread> =>
    new Promise((resolve, reject) => {
      const onExit = (code: number): void => reject(new Error(`the embedded database thread exited (code ${code})`));
      worker.once('exit', onExit);
      worker.once('message', (m: FromDatabaseThread) => {
        worker.off('exit', onExit);
        resolve(m);
      });
    });
  const started = await next();
  if (!('listening' in started)) {
    await worker.terminate();
    throw new Error(`the embedded database did not start: ${'failed' in started ? started.failed : 'unknown'}`);
  }
  let stopping: Promise<void> | undefined;
  return {
    url: `postgres://postgres@${started.listening}/postgres?sslmode=disable`,
    // Once: a second stop() waits for the first (a thread that has ended posts nothing more).
    stop() {
      stopping ??= (async () => {
        const stopped = next().catch(() => undefined);
        worker.postMessage('stop');
        await stopped;
        await worker.terminate();
      })();
      return stopping;
    },
  };
}
