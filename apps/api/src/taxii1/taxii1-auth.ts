import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Authenticator, Refusal } from '@taxiway/auth';
import type { PrincipalInfo } from '@taxiway/domain';
import { requestFacts } from '../tenancy/request-facts';
import { taxii1LoginError } from './taxii1-error.map';
import { header } from './taxii1-negotiation';
import { Taxii1Status } from './taxii1-status';

export type AuthResult =
  { readonly principal: PrincipalInfo; readonly refusal?: undefined } | { readonly principal?: undefined; readonly refusal: Taxii1Status };

declare module 'fastify' {
  interface FastifyRequest {
    /** The TAXII 1.x authentication outcome, from the onRequest hook (before any body byte is read). */
    taxii1Auth: AuthResult | null;
  }
}

/** libs/auth's outcome as TAXII 1.x renders it: UNAUTHORIZED, or RETRY with the wait for the throttles. */
export async function authenticate(req: FastifyRequest, auth: Authenticator): Promise<AuthResult> {
  const outcome = await auth.authenticate(requestFacts(req));
  return outcome.ok ? { principal: outcome.principal } : { refusal: refusalStatus(outcome.refusal) };
}

function refusalStatus(r: Refusal): Taxii1Status {
  if (r.reason === 'missing') {
    return new Taxii1Status('UNAUTHORIZED', 'This server requires authentication (a client certificate, HTTP Basic, an API key or a JWT from /taxii1/auth)');
  }
  if (r.reason === 'rejected') return new Taxii1Status('UNAUTHORIZED', r.message);
  return new Taxii1Status('RETRY', r.message, [['ESTIMATED_WAIT', String(r.retryAfterSeconds ?? 1)]]);
}

// --- JWT login ---

/**
 * cabby `--jwt-auth`: POST `{"username","password"}` (or a form), answer `{"token": …}`. libs/auth
 * checks the password like HTTP Basic, with the same cache and throttles, and binds the token to the
 * principal's current credentials.
 */
export async function login(req: FastifyRequest, reply: FastifyReply, auth: Authenticator): Promise<void> {
  const body = req.body;
  const creds = Buffer.isBuffer(body) ? loginCredentials(body, header(req, 'content-type')) : undefined;
  if (creds === undefined) {
    const e = taxii1LoginError('LOGIN_MALFORMED');
    await reply.code(e.status).header('content-type', 'application/json').send(e.body);
    return;
  }
  const result = await auth.login(requestFacts(req), creds.username, creds.password);
  if ('refusal' in result) {
    const e = taxii1LoginError(result.refusal.reason === 'rejected' ? 'LOGIN_REJECTED' : 'LOGIN_THROTTLED', result.refusal.message);
    if (result.refusal.retryAfterSeconds !== undefined) void reply.header('retry-after', String(result.refusal.retryAfterSeconds));
    await reply.code(e.status).header('content-type', 'application/json').send(e.body);
    return;
  }
  await reply.header('content-type', 'application/json').header('cache-control', 'no-store').send({ token: result.token });
}

export function loginCredentials(body: Buffer, contentType: string | undefined): { username: string; password: string } | undefined {
  const text = body.toString('utf8');
  if ((contentType ?? '').toLowerCase().includes('application/x-www-form-urlencoded')) {
    const form = new URLSearchParams(text);
    const username = form.get('username');
    const password = form.get('password');
    return username !== null && password !== null ? { username, password } : undefined;
  }
  try {
    const o = JSON.parse(text) as unknown;
    if (typeof o !== 'object' || o === null) return undefined;
    const { username, password } = o as Record<string, unknown>;
    return typeof username === 'string' && typeof password === 'string' ? { username, password } : undefined;
  } catch {
    return undefined;
  }
}

export function isLoginPath(url: string): boolean {
  const path = url.split('?')[0] ?? url;
  return path === '/taxii1/auth' || path === '/taxii1/auth/' || path === '/management/auth' || path === '/management/auth/';
}
