import { parentPort } from 'node:worker_threads';
import { prepareEnvelope, type PreparedBatch, type PrepareOptions } from './prepare';
import { concat, type FromWorker } from './ingest-pool';

/**
 * An ingest worker: prepares one Add Objects envelope at a time (prepare.ts) off the server's event
 * loop, posting the entries back in batches as they are validated and the outcome last.
 */
parentPort?.on('message', (job: { readonly id: number; readonly segments: readonly Uint8Array[]; readonly opts: PrepareOptions }) => {
  const post = (m: FromWorker, transfer: ArrayBuffer[] = []): void => parentPort?.postMessage(m, transfer);
  try {
    const bytes = concat({ segments: job.segments, length: job.segments.reduce((n, b) => n + b.length, 0) });
    const outcome = prepareEnvelope(bytes, job.opts, (batch) => post({ id: job.id, batch }, movable(batch)));
    post({ id: job.id, outcome });
  } catch (e) {
    post({ id: job.id, crash: e instanceof Error ? e.message : String(e) });
  }
});

/** The buffers of the batch's byte texts that are theirs alone, moved rather than copied. */
function movable(batch: PreparedBatch): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const { record } of batch.valid) {
    const r = record.raw;
    if (typeof r !== 'string' && r.byteOffset === 0 && r.byteLength === r.buffer.byteLength && r.buffer instanceof ArrayBuffer) out.push(r.buffer);
  }
  return out;
}
