import type { FastifyReply } from 'fastify';
import { TAXII_MEDIA_TYPE } from '@taxiway/domain';

const EMPTY = Buffer.alloc(0);

/**
 * Sends a pre-serialized TAXII body with `Content-Type: application/taxii+json;version=2.1` exactly.
 * The body goes out as a Buffer: for string payloads with a JSON-like type Fastify rewrites the
 * header to `version="2.1"; charset=utf-8`, which taxii2-client rejects (it wants the token `version=2.1`).
 */
export function sendTaxii(reply: FastifyReply, status: number, body: string | Buffer | undefined): void {
  reply.code(status).header('content-type', TAXII_MEDIA_TYPE);
  void reply.send(body === undefined ? EMPTY : typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
}
