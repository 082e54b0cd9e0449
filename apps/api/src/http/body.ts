import type { FastifyRequest } from 'fastify';
import { badRequest, checkContentType, DomainError } from '@taxiway/domain';

/**
 * Reads a request body on a TAXII 2.1 route. Only Add Objects (POST) takes one: its Content-Type is
 * checked before a byte is read (415) and its bytes handed to the service, which parses them off the
 * event loop (ingest/ingest-pool.ts). Every other method (Delete an Object) may
 * carry a Content-Type but must carry no content. For all, a declared Content-Length above the API
 * root's `max_content_length` is refused at once, and the bytes are counted as they arrive so an
 * undeclared (chunked) body is cut off at the limit (413) instead of being buffered whole.
 */
export async function readTaxiiBody(req: FastifyRequest, payload: NodeJS.ReadableStream, policy: BodyPolicy): Promise<BodyBytes | undefined> {
  const takesBody = req.method === 'POST';
  if (takesBody) checkContentType(req.headers['content-type']);
  const body = await readWithinLimit(req, payload, policy);
  return takesBody ? body : refuseContent(req.method, body);
}

/** The body's bytes; 413 for a declared or actual size above the limit, 408 for a body that arrives too slowly. */
async function readWithinLimit(req: FastifyRequest, payload: NodeJS.ReadableStream, policy: BodyPolicy): Promise<BodyBytes> {
  const limit = policy.limit;
  const declared = req.headers['content-length'];
  // Declared too large beyond what is worth reading and discarding: answered at once.
  if (declared !== undefined && Number(declared) > limit + policy.discardBytes) {
    req.taxiiCloseConnection = true;
    throw new DomainError('PayloadTooLarge', `The body is ${declared} bytes; this API root accepts at most ${limit}`, { max_content_length: limit });
  }
  const body = await readBody(req, payload, policy);
  if (body.kind === 'too-large') {
    throw new DomainError('PayloadTooLarge', `The body exceeds this API root's max_content_length of ${limit} bytes`, { max_content_length: limit });
  }
  if (body.kind === 'too-slow') {
    throw new DomainError('RequestTimeout', `The body arrived slower than ${body.minBytesPerSecond} bytes/s and was cut off`, {
      min_bytes_per_second: body.minBytesPerSecond,
    });
  }
  return body.bytes;
}

/**
 * No body for a method that defines none (TAXII 2.1 gives Delete an Object no request body), whatever
 * the Content-Type says. Content there is refused (400), not ignored: a client may mean it to narrow
 * the delete, which only the match[...] parameters do.
 */
function refuseContent(method: string, body: BodyBytes): undefined {
  if (body.length > 0) throw badRequest(`A ${method} request takes no body; select versions with match[version] or match[spec_version]`);
  return undefined;
}

/** How a body may arrive: at most `limit` bytes, at no less than `minBytesPerSecond` once `graceMs` have passed. */
export interface BodyPolicy {
  readonly limit: number;
  readonly minBytesPerSecond: number;
  readonly graceMs: number;
  /**
   * Past the limit, up to this many more bytes are read and discarded before the 413 is sent, so a
   * client that sends its whole body before reading (most do) reads the answer instead of a reset.
   */
  readonly discardBytes: number;
}

export type BodyRead =
  | { readonly kind: 'ok'; readonly bytes: BodyBytes }
  | { readonly kind: 'too-large'; readonly limit: number }
  | { readonly kind: 'too-slow'; readonly minBytesPerSecond: number };

const RATE_CHECK_MS = 1000;

/** The largest segment a body is kept in. */
const SEGMENT_BYTES = 1024 * 1024;

/**
 * A body's bytes in the segments they were copied into as they arrived, each segment with memory of
 * its own: no single step copies a whole large body (100 MiB: 100 ms of the event loop), and the
 * segments can be moved to a worker thread without a copy.
 */
export class BodyBytes {
  /** Each segment's memory is its alone (allocUnsafeSlow), so a worker thread may take it over. */
  readonly owned = true;

  constructor(
    readonly segments: readonly Buffer[],
    readonly length: number,
  ) {}

  /** The body in one buffer (a copy unless it is one segment): for bodies read on the event loop. */
  whole(): Buffer {
    return this.segments.length === 1 ? this.segments[0]! : Buffer.concat(this.segments, this.length);
  }
}

/** Copies arriving chunks into segments sized by what is still expected (the declared length, else growing). */
class Segments {
  private readonly full: Buffer[] = [];
  private current: Buffer | undefined;
  private used = 0;
  private total = 0;

  constructor(private readonly expected: number | undefined) {}

  add(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.current === undefined || this.used === this.current.length) this.next(chunk.length - at);
      const n = chunk.copy(this.current!, this.used, at);
      this.used += n;
      at += n;
      this.total += n;
    }
  }

  done(): BodyBytes {
    if (this.current !== undefined && this.used > 0) this.full.push(this.current.subarray(0, this.used));
    this.current = undefined;
    return new BodyBytes(this.full, this.total);
  }

  private next(pending: number): void {
    if (this.current !== undefined) this.full.push(this.current);
    const left =
      this.expected !== undefined && this.expected > this.total ? this.expected - this.total : Math.max(pending, Math.min(this.total, SEGMENT_BYTES));
    // allocUnsafeSlow: memory of its own, never a slice of Node's shared pool (it may be moved to a worker).
    this.current = Buffer.allocUnsafeSlow(Math.max(1, Math.min(SEGMENT_BYTES, left)));
    this.used = 0;
  }
}

/**
 * The body's bytes as they arrive, never more than `limit` held. A body over the limit is read on
 * and discarded (up to `discardBytes`), then answered; one that arrives slower than the minimum rate
 * (a trickle that would hold the connection and its memory for ever) is cut off. Either way the
 * connection closes after the answer. Records the size for the request log and metrics.
 */
export function readBody(req: FastifyRequest, payload: NodeJS.ReadableStream, policy: BodyPolicy): Promise<BodyRead> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? NaN);
    const kept = new Segments(Number.isFinite(declared) ? Math.min(declared, policy.limit) : undefined);
    let size = 0;
    const started = Date.now();
    const finish = (r: BodyRead): void => {
      clearInterval(timer);
      payload.removeListener('data', onData);
      payload.removeListener('end', onEnd);
      payload.removeListener('error', onError);
      req.taxiiBodyBytes = size;
      if (r.kind !== 'ok') {
        payload.pause();
        req.taxiiCloseConnection = true;
      }
      resolve(r);
    };
    const onData = (chunk: Buffer | string): void => {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += b.length;
      if (size <= policy.limit) kept.add(b);
      else if (size > policy.limit + policy.discardBytes) finish({ kind: 'too-large', limit: policy.limit });
    };
    const onEnd = (): void => finish(size > policy.limit ? { kind: 'too-large', limit: policy.limit } : { kind: 'ok', bytes: kept.done() });
    const onError = (err: Error): void => {
      clearInterval(timer);
      reject(err);
    };
    const timer = setInterval(() => {
      const elapsed = Date.now() - started;
      if (elapsed >= policy.graceMs && size / (elapsed / 1000) < policy.minBytesPerSecond)
        finish({ kind: 'too-slow', minBytesPerSecond: policy.minBytesPerSecond });
    }, RATE_CHECK_MS);
    timer.unref();
    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.on('error', onError);
  });
}

/** At most the first `max` bytes of a body, for a caller whose body will not be read (the connection then closes). */
export function readPrefix(req: FastifyRequest, payload: NodeJS.ReadableStream, max: number, waitMs: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (): void => {
      clearTimeout(timer);
      payload.removeListener('data', onData);
      payload.removeListener('end', finish);
      payload.removeListener('error', finish);
      payload.pause();
      req.taxiiCloseConnection = true;
      resolve(Buffer.concat(chunks).subarray(0, max));
    };
    const onData = (chunk: Buffer | string): void => {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      chunks.push(b);
      size += b.length;
      if (size >= max) finish();
    };
    const timer = setTimeout(finish, waitMs);
    payload.on('data', onData);
    payload.on('end', finish);
    payload.on('error', finish);
  });
}
