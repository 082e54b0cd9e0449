import type { FastifyRequest } from 'fastify';
import { readBody, readPrefix, type BodyPolicy, type BodyRead } from '../http/body';
import { isLoginPath } from './taxii1-auth';
import { header } from './taxii1-negotiation';
import { Taxii1Status } from './taxii1-status';

/** A body not read whole: over the limit, or arriving too slowly. */
export type BodyProblem = Exclude<BodyRead, { kind: 'ok' }>;

/** Body limit of a TAXII 1.x request to an API root that does not exist. */
export const TAXII1_DEFAULT_LIMIT = 1024 * 1024;

/** Body limit of the JWT login endpoint: a username and a password. */
const LOGIN_LIMIT = 16 * 1024;

/** Of an unauthenticated caller's message only this much is read: enough to find its message id. */
const PEEK_BYTES = 4096;

/** Paths served by this module: the tenancy hook leaves their authentication and errors to it. */
export function isTaxii1Path(url: string): boolean {
  return url.startsWith('/taxii1/') || url === '/management/auth' || url.startsWith('/management/auth?');
}

/** The refusal of a body not read whole (TOO_LARGE, TOO_SLOW), or of a request without one. */
export function bodyProblemStatus(body: unknown): Taxii1Status {
  const problem = typeof body === 'object' && body !== null ? (body as Partial<BodyProblem>) : undefined;
  if (problem?.kind === 'too-large') return new Taxii1Status('TOO_LARGE', `The message exceeds this API root's limit of ${problem.limit} bytes`);
  if (problem?.kind === 'too-slow') {
    return new Taxii1Status('TOO_SLOW', `The message arrived slower than ${problem.minBytesPerSecond} bytes/s and was cut off`);
  }
  return new Taxii1Status('BAD_MESSAGE', 'The request has no body');
}

/**
 * Reads a TAXII 1.x (or login) body as bytes, never holding more than the limit (`policy`, the API
 * root's max_content_length; 16 KiB for the login). Of a caller the onRequest hook did not
 * authenticate only the first 4 KiB are read (for its message id); the connection then closes.
 */
export async function readTaxii1Body(req: FastifyRequest, payload: NodeJS.ReadableStream, policy: BodyPolicy): Promise<Buffer | BodyProblem> {
  if (req.taxii1Auth?.refusal !== undefined) return readPrefix(req, payload, PEEK_BYTES, 2000);
  const p = isLoginPath(req.url) ? { ...policy, limit: LOGIN_LIMIT } : policy;
  const declared = header(req, 'content-length');
  if (declared !== undefined && Number(declared) > p.limit + p.discardBytes) {
    req.taxiiCloseConnection = true;
    return { kind: 'too-large', limit: p.limit };
  }
  const read = await readBody(req, payload, p);
  return read.kind === 'ok' ? read.bytes.whole() : read;
}
