import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * HS256 JSON Web Tokens for the TAXII 1.x login endpoint (OpenTAXII's `/management/auth`, which
 * cabby's `--jwt-auth` calls). The token names the principal and carries its credential version;
 * rights are looked up on every request, so a revoked grant takes effect at once, and the token stops
 * working when the principal is disabled or removed or its password or keys change.
 */
export interface JwtClaims {
  /** Principal name. */
  readonly sub: string;
  /** The principal's credential version when the token was issued (AccessIndex.credentialVersion). */
  readonly cv: string;
  readonly iat: number;
  readonly exp: number;
}

const HEADER = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));

function b64url(s: string | Buffer): string {
  return Buffer.from(s).toString('base64url');
}

/** Three base64url parts: what a JWT looks like (API keys do not). */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token);
}

export class JwtIssuer {
  constructor(
    private readonly key: Buffer,
    private readonly ttlSeconds: number,
  ) {}

  private mac(data: string): Buffer {
    return createHmac('sha256', this.key).update(data).digest();
  }

  issue(subject: string, credentialVersion: string, nowMs = Date.now()): string {
    const iat = Math.floor(nowMs / 1000);
    const payload = b64url(JSON.stringify({ sub: subject, cv: credentialVersion, iat, exp: iat + this.ttlSeconds }));
    const data = `${HEADER}.${payload}`;
    return `${data}.${this.mac(data).toString('base64url')}`;
  }

  /** The claims of a valid, unexpired token we issued; undefined otherwise. */
  verify(token: string, nowMs = Date.now()): JwtClaims | undefined {
    const parts = token.split('.');
    if (parts.length !== 3 || parts[0] !== HEADER) return undefined;
    const sig = Buffer.from(parts[2] ?? '', 'base64url');
    const expected = this.mac(`${parts[0]}.${parts[1]}`);
    if (sig.length !== expected.length || !timingSafeEqual(sig, expected)) return undefined;
    const claims = decodeClaims(parts[1] ?? '');
    return claims !== undefined && claims.exp * 1000 > nowMs ? claims : undefined;
  }
}

function decodeClaims(payload: string): JwtClaims | undefined {
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    return isClaims(claims) ? claims : undefined;
  } catch {
    return undefined;
  }
}

function isClaims(c: unknown): c is JwtClaims {
  if (typeof c !== 'object' || c === null) return false;
  const o = c as Record<string, unknown>;
  return typeof o['sub'] === 'string' && typeof o['cv'] === 'string' && typeof o['iat'] === 'number' && typeof o['exp'] === 'number';
}
