import { extname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { DomainError } from '@taxiway/domain';
import { prepareEnvelope, type InvalidEntry, type PrepareOptions, type PreparedBatch, type PrepareOutcome, type ValidEntry } from './prepare';

/** An envelope ready to store: every object validated and serialized, in envelope order within each list. */
export interface PreparedEnvelope {
  readonly total: number;
  readonly valid: ValidEntry[];
  readonly invalid: InvalidEntry[];
}

/**
 * An Add Objects body: its bytes in segments, as they were read. `owned` says each segment's memory
 * is its alone: a worker then takes the segments over instead of a copy being made.
 */
export interface EnvelopeBody {
  readonly segments: readonly Uint8Array[];
  readonly length: number;
  readonly owned: boolean;
}

/** A body held in one buffer, as an EnvelopeBody (its memory may be shared: it is copied to a worker). */
export const bodyOf = (bytes: Uint8Array): EnvelopeBody => ({ segments: [bytes], length: bytes.length, owned: false });

/** Turns an Add Objects body into a PreparedEnvelope, or throws the DomainError that refuses it whole. */
export interface EnvelopePreparer {
  prepare(body: EnvelopeBody, opts: PrepareOptions): Promise<PreparedEnvelope>;
  close(): Promise<void>;
}

/** What an ingest worker posts: batches of entries, then the outcome (or the error it died of). */
export type FromWorker =
  | { readonly id: number; readonly batch: PreparedBatch }
  | { readonly id: number; readonly outcome: PrepareOutcome }
  | { readonly id: number; readonly crash: string };

export interface IngestPoolOptions {
  /** Worker threads (at most this many envelopes are prepared at once; more wait their turn). */
  readonly workers: number;
  /** Bodies up to this size are prepared on the event loop: a few milliseconds, less than a hand-off. */
  readonly inlineBytes: number;
}

interface Job {
  readonly id: number;
  readonly body: EnvelopeBody;
  readonly opts: PrepareOptions;
  readonly collected: Collector;
  readonly resolve: (p: PreparedEnvelope) => void;
  readonly reject: (e: unknown) => void;
}

/** Gathers batches in order and turns the outcome into a PreparedEnvelope or a thrown refusal. */
class Collector {
  readonly valid: ValidEntry[] = [];
  readonly invalid: InvalidEntry[] = [];

  add(batch: PreparedBatch): void {
    for (const v of batch.valid) this.valid.push(v);
    for (const f of batch.invalid) this.invalid.push(f);
  }

  finish(outcome: PrepareOutcome): PreparedEnvelope {
    if (!outcome.ok) throw new DomainError(outcome.refusal.code, outcome.refusal.message, outcome.refusal.details);
    return { total: outcome.total, valid: this.valid, invalid: this.invalid };
  }
}

/**
 * Prepares Add Objects envelopes off the event loop (ADR 0012): parsing, validating and serializing
 * a 100 MiB envelope is seconds of CPU, and a single huge object is one JSON.parse and one
 * JSON.stringify that cannot be cut into slices. A small pool of worker threads does that work; the
 * body's bytes are moved to the worker (not copied), and the entries come back in batches of about
 * 1 MiB, each taken by the event loop in a millisecond or two. Small bodies are prepared inline.
 * A worker that dies (say, out of memory) fails its envelope with 503 and is replaced.
 */
export class IngestPool implements EnvelopePreparer {
  private readonly idle: Worker[] = [];
  private readonly busy = new Map<Worker, Job>();
  private readonly queue: Job[] = [];
  private started = 0;
  private nextId = 1;
  private closed = false;

  constructor(private readonly opts: IngestPoolOptions) {}

  prepare(body: EnvelopeBody, opts: PrepareOptions): Promise<PreparedEnvelope> {
    if (body.length <= this.opts.inlineBytes || this.opts.workers === 0) return Promise.resolve(prepareInline(concat(body), opts));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, body, opts, collected: new Collector(), resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(unavailable());
    const all = [...this.idle.splice(0), ...this.busy.keys()];
    await Promise.all(all.map((w) => w.terminate()));
  }

  private dispatch(): void {
    while (this.queue.length > 0 && !this.closed) {
      const worker = this.idle.pop() ?? (this.started < this.opts.workers ? this.spawn() : undefined);
      if (worker === undefined) return;
      const job = this.queue.shift()!;
      this.busy.set(worker, job);
      const { segments, owned } = job.body;
      // Segments with memory of their own are moved to the worker; views into shared memory are copied.
      const transfer = owned ? segments.map((b) => b.buffer).filter((b): b is ArrayBuffer => b instanceof ArrayBuffer) : [];
      worker.postMessage({ id: job.id, segments, opts: job.opts }, transfer);
    }
  }

  private spawn(): Worker {
    this.started++;
    const worker = FROM_SOURCE ? new Worker(`require('tsx/cjs'); require(${JSON.stringify(WORKER_FILE)});`, { eval: true }) : new Worker(WORKER_FILE);
    worker.unref();
    worker.on('message', (m: FromWorker) => this.onMessage(worker, m));
    worker.on('error', () => undefined);
    worker.on('exit', () => this.onExit(worker));
    return worker;
  }

  private onMessage(worker: Worker, m: FromWorker): void {
    const job = this.busy.get(worker);
    if (job === undefined || job.id !== m.id) return;
    if ('batch' in m) {
      job.collected.add(m.batch);
      return;
    }
    this.busy.delete(worker);
    this.idle.push(worker);
    if ('outcome' in m) settle(job, () => job.collected.finish(m.outcome));
    else job.reject(new Error(`ingest worker failed: ${m.crash}`));
    this.dispatch();
  }

  /** A worker that exits (crashed, out of memory, terminated) fails its envelope and is replaced on demand. */
  private onExit(worker: Worker): void {
    this.started--;
    const i = this.idle.indexOf(worker);
    if (i >= 0) this.idle.splice(i, 1);
    const job = this.busy.get(worker);
    this.busy.delete(worker);
    job?.reject(unavailable());
    this.dispatch();
  }
}

function settle(job: Job, f: () => PreparedEnvelope): void {
  try {
    job.resolve(f());
  } catch (e) {
    job.reject(e);
  }
}

const unavailable = (): DomainError =>
  new DomainError('Unavailable', 'The envelope could not be processed (the ingest worker stopped); try again, or send fewer objects per request');

/** The body in one buffer (the worker does this for large bodies; small ones are joined here). */
export function concat(body: { readonly segments: readonly Uint8Array[]; readonly length: number }): Uint8Array {
  return body.segments.length === 1 ? body.segments[0]! : Buffer.concat(body.segments, body.length);
}

/** A small body, on the event loop. */
function prepareInline(bytes: Uint8Array, opts: PrepareOptions): PreparedEnvelope {
  const collected = new Collector();
  return collected.finish(prepareEnvelope(bytes, opts, (batch) => collected.add(batch)));
}

/** Run from TypeScript sources (tests, tsx): the worker is loaded through tsx's require hook. */
const FROM_SOURCE = extname(__filename) === '.ts';
/** The worker's file beside this one. */
const WORKER_FILE = join(__dirname, `envelope.worker${FROM_SOURCE ? '.ts' : '.js'}`);
