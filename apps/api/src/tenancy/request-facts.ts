import type { TLSSocket } from 'node:tls';
import type { FastifyRequest } from 'fastify';
import type { CertificateFacts, RequestFacts } from '@taxiway/auth';

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

/**
 * A client certificate, only where TLS ends at this server and the certificate verified against
 * TLS_CLIENT_CA_FILE (the server asks for one but lets clients without one in to use Basic or keys).
 */
function verifiedCertificate(req: FastifyRequest): CertificateFacts | undefined {
  const socket = req.raw.socket as Partial<TLSSocket>;
  if (socket.encrypted !== true || socket.authorized !== true || typeof socket.getPeerCertificate !== 'function') return undefined;
  const cn = socket.getPeerCertificate().subject?.CN;
  return { subjectCN: Array.isArray(cn) ? undefined : cn };
}

/** What libs/auth's authenticate() looks at, read off a request before its body. */
export function requestFacts(req: FastifyRequest): RequestFacts {
  return {
    peer: req.raw.socket.remoteAddress ?? '',
    authorization: header(req, 'authorization'),
    forwardedFor: header(req, 'x-forwarded-for'),
    forwarded: header(req, 'forwarded'),
    certificate: verifiedCertificate(req),
  };
}
