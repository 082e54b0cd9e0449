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
export async function readTaxiiBody(req: FastifyRequest, payload: NodeJS.ReadableStream, policy: BodyPolicy): Promise<Buffer | undefined> {
  const takesBody = req.method === 'POST';
  if (takesBody) checkContentType(req.headers['content-type']);
  const body = await readWithinLimit(req, payload, policy);
  return takesBody ? body : refuseContent(req.method, body);
}

/** The body's bytes; 413 for a declared or actual size above the limit, 408 for a body that arrives too slowly. */
async function readWithinLimit(req: FastifyRequest, payload: NodeJS.ReadableStream, policy: BodyPolicy): Promise<Buffer> {
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
function refuseContent(method: string, body: Buffer): undefined {
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
  | { readonly kind: 'ok'; readonly bytes: Buffer }
  | { readonly kind: 'too-large'; readonly limit: number }
  | { readonly kind: 'too-slow'; readonly minBytesPerSecond: number };

const RATE_CHECK_MS = 1000;

/**
 * The body's bytes as they arrive, never more than `limit` held. A body over the limit is read on
 * and discarded (up to `discardBytes`), then answered; one that arrives slower than the minimum rate
 * (a trickle that would hold the connection and its memory for ever) is cut off. Either way the
 * connection closes after the answer. Records the size for the request log and metrics.
 */
export function readBody(req: FastifyRequest, payload: NodeJS.ReadableStream, policy: BodyPolicy): Promise<BodyRead> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
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
      if (size <= policy.limit) chunks.push(b);
      else if (size > policy.limit + policy.discardBytes) finish({ kind: 'too-large', limit: policy.limit });
    };
    const onEnd = (): void => finish(size > policy.limit ? { kind: 'too-large', limit: policy.limit } : { kind: 'ok', bytes: Buffer.concat(chunks, size) });
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
