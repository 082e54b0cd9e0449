import type { FastifyRequest } from 'fastify';
import sjson from 'secure-json-parse';
import { badRequest, checkContentType, DomainError } from '@taxiway/domain';

/**
 * Reads a request body for the Add Objects endpoint. The Content-Type is checked before a byte is
 * read (415), a declared Content-Length above the API root's `max_content_length` is refused at once,
 * and the bytes are counted as they arrive so an undeclared (chunked) body is cut off at the limit
 * (413) instead of being buffered whole. JSON is parsed with prototype-poisoning protection.
 */
export async function readTaxiiBody(req: FastifyRequest, payload: NodeJS.ReadableStream, limit: number): Promise<unknown> {
  checkContentType(req.headers['content-type']);
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    throw new DomainError('PayloadTooLarge', `The body is ${declared} bytes; this API root accepts at most ${limit}`, { max_content_length: limit });
  }
  const body = await readBounded(req, payload, limit);
  if (body === undefined) {
    throw new DomainError('PayloadTooLarge', `The body exceeds this API root's max_content_length of ${limit} bytes`, { max_content_length: limit });
  }
  const text = body.toString('utf8');
  if (text.trim() === '') throw badRequest('The request body is empty; send a TAXII envelope');
  try {
    return sjson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (e) {
    throw badRequest(`The request body is not valid JSON: ${(e as Error).message.slice(0, 200)}`);
  }
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
