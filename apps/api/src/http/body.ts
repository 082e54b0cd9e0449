import type { FastifyRequest } from 'fastify';
import sjson from 'secure-json-parse';
import { badRequest, checkContentType, DomainError } from '@taxiway/domain';

/**
 * Reads a request body on a TAXII 2.1 route. Only Add Objects (POST) takes one: its Content-Type is
 * checked before a byte is read (415) and its JSON parsed. Every other method (Delete an Object) may
 * carry a Content-Type but must carry no content. For all, a declared Content-Length above the API
 * root's `max_content_length` is refused at once, and the bytes are counted as they arrive so an
 * undeclared (chunked) body is cut off at the limit (413) instead of being buffered whole.
 */
export async function readTaxiiBody(req: FastifyRequest, payload: NodeJS.ReadableStream, limit: number): Promise<unknown> {
  const takesBody = req.method === 'POST';
  if (takesBody) checkContentType(req.headers['content-type']);
  const body = await readWithinLimit(req, payload, limit);
  return takesBody ? parseJson(body) : refuseContent(req.method, body);
}

/** The body's bytes; 413 for a declared or actual size above `limit`. */
async function readWithinLimit(req: FastifyRequest, payload: NodeJS.ReadableStream, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    throw new DomainError('PayloadTooLarge', `The body is ${declared} bytes; this API root accepts at most ${limit}`, { max_content_length: limit });
  }
  const body = await readBounded(req, payload, limit);
  if (body === undefined) {
    throw new DomainError('PayloadTooLarge', `The body exceeds this API root's max_content_length of ${limit} bytes`, { max_content_length: limit });
  }
  return body;
}

/** An Add Objects body as JSON, parsed with prototype-poisoning protection; 400 if empty or not JSON. */
function parseJson(body: Buffer): unknown {
  const text = body.toString('utf8');
  if (text.trim() === '') throw badRequest('The request body is empty; send a TAXII envelope');
  try {
    return sjson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (e) {
    throw badRequest(`The request body is not valid JSON: ${(e as Error).message.slice(0, 200)}`);
  }
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

/**
 * The body's bytes as they arrive, or undefined as soon as they pass `limit` (the rest is not read
 * and the stream is destroyed, so an undeclared chunked body is never buffered whole). Records the
 * size for the request log and metrics.
 */
export async function readBounded(req: FastifyRequest, payload: NodeJS.ReadableStream, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of payload) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += b.length;
    if (size > limit) {
      (payload as unknown as { destroy?: () => void }).destroy?.();
      return undefined;
    }
    chunks.push(b);
  }
  req.taxiiBodyBytes = size;
  return Buffer.concat(chunks, size);
}
