import type { TLSSocket } from 'node:tls';
import type { FastifyRequest } from 'fastify';
import type { PrincipalInfo } from '@taxiway/domain';

/**
 * The principal a verified client certificate names: its subject CN is the principal's name (the
 * convention of Kubernetes' x509 client authentication). Only a certificate that verified against
 * TLS_CLIENT_CA_FILE counts; a disabled or unknown principal authenticates nobody.
 */
export function certificatePrincipal(req: FastifyRequest, byName: (name: string) => PrincipalInfo | undefined): PrincipalInfo | undefined {
  const socket = req.raw.socket as Partial<TLSSocket>;
  if (socket.encrypted !== true || socket.authorized !== true || typeof socket.getPeerCertificate !== 'function') return undefined;
  const cn = socket.getPeerCertificate().subject?.CN;
  const name = Array.isArray(cn) ? undefined : cn;
  const principal = name === undefined ? undefined : byName(name);
  return principal !== undefined && !principal.disabled ? principal : undefined;
}
