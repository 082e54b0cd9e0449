import { parentPort } from 'node:worker_threads';
import { prepareEnvelope, type PrepareOptions } from './prepare';
import type { FromWorker } from './ingest-pool';

/**
 * An ingest worker: prepares one Add Objects envelope at a time (prepare.ts) off the server's event
 * loop, posting the entries back in batches as they are validated and the outcome last.
 */
parentPort?.on('message', (job: { readonly id: number; readonly bytes: Uint8Array; readonly opts: PrepareOptions }) => {
  const post = (m: FromWorker): void => parentPort?.postMessage(m);
  try {
    const outcome = prepareEnvelope(job.bytes, job.opts, (batch) => post({ id: job.id, batch }));
    post({ id: job.id, outcome });
  } catch (e) {
    post({ id: job.id, crash: e instanceof Error ? e.message : String(e) });
  }
});
