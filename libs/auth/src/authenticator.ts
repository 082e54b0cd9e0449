import { looksLikeApiKey, type PrincipalInfo, type RequestRate } from '@taxiway/domain';
import { clientAddress, TrustedProxies, type AddressFacts } from './client-address';
import { parseAuthorization, type Credential } from './credentials';
import type { AccessIndex } from './grants';
import { JwtIssuer, looksLikeJwt } from './jwt';
import { RequestLimiter } from './request-limiter';
import { AuthThrottle } from './throttle';
import { CredentialVerifier } from './verifier';

/** A client certificate, passed only when it verified against the configured client CA. */
export interface CertificateFacts {
  readonly subjectCN: string | undefined;
}

/** Everything about a request that authentication may look at; no body is needed. */
export interface RequestFacts extends AddressFacts {
  readonly authorization?: string | undefined;
  readonly certificate?: CertificateFacts | undefined;
}

export type Method = 'password' | 'api-key' | 'jwt' | 'certificate';

/**
 * Why a caller is refused. `missing`: no usable credential; `rejected`: a credential that did not
 * verify; `throttled`: too many failures from this address (or for this user from it); `busy`: the
 * replica's slow-hash budget is spent; `rate-limited`: the principal's own request rate.
 */
export type RefusalReason = 'missing' | 'rejected' | 'throttled' | 'busy' | 'rate-limited';

export interface Refusal {
  readonly reason: RefusalReason;
  readonly message: string;
  /** For throttled, busy and rate-limited: when to come back. */
  readonly retryAfterSeconds?: number;
}

export type Authentication =
  | { readonly ok: true; readonly principal: PrincipalInfo; readonly method: Method; readonly clientAddress: string }
  | { readonly ok: false; readonly refusal: Refusal; readonly clientAddress: string };

/** How an attempt ended, for metrics. */
export type AttemptResult = 'accepted' | RefusalReason;

export interface AuthenticatorDeps {
  readonly index: () => AccessIndex;
  readonly verifier: CredentialVerifier;
  readonly throttle: AuthThrottle;
  readonly requests: RequestLimiter;
  readonly proxies: TrustedProxies;
  /** Issues and checks the tokens of the login endpoint (TAXII 1.x JWT login). */
  readonly jwt: JwtIssuer;
  /** Told of every attempt; `hashed` when a slow hash ran for it. */
  readonly observe?: (method: Method | 'none', result: AttemptResult, hashed: boolean) => void;
}

const MESSAGES: Record<RefusalReason, string> = {
  missing: 'This server requires authentication',
  rejected: 'The credentials were not accepted',
  throttled: 'Too many failed authentication attempts; try again later',
  busy: 'The server is verifying too many credentials right now; try again shortly',
  'rate-limited': 'This client has exceeded its request rate',
};

const refusal = (reason: RefusalReason, retryAfterMs?: number): Refusal => ({
  reason,
  message: MESSAGES[reason],
  ...(retryAfterMs !== undefined && { retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)) }),
});

type Verified = ({ readonly principal: PrincipalInfo } | { readonly refusal: Refusal }) & { readonly hashed: boolean };

/**
 * The access pipeline's first half: who is calling. Owns every credential form and their
 * precedence (an Authorization header — a login JWT, an API key as Bearer, Token or Basic password,
 * or a Basic password — wins over a verified client certificate), the verification cache and the
 * throttles. Every surface (TAXII 2.1, TAXII 1.x, the login endpoint) calls it and only renders the
 * outcome.
 */
export class Authenticator {
  constructor(private readonly d: AuthenticatorDeps) {}

  /** The client address the throttles count (forwarding headers only from trusted proxies). */
  clientAddress(facts: AddressFacts): string {
    return clientAddress(facts, this.d.proxies);
  }

  /** Authenticates a request and charges its principal's request rate. */
  async authenticate(facts: RequestFacts, nowMs = Date.now()): Promise<Authentication> {
    const address = this.clientAddress(facts);
    const found = await this.identify(facts, address, nowMs);
    if ('refusal' in found) return { ok: false, refusal: found.refusal, clientAddress: address };
    const take = this.d.requests.take(found.principal, nowMs);
    if (!take.ok) {
      this.d.observe?.(found.method, 'rate-limited', false);
      return { ok: false, refusal: refusal('rate-limited', take.retryAfterMs), clientAddress: address };
    }
    return { ok: true, principal: found.principal, method: found.method, clientAddress: address };
  }

  /**
   * The login endpoint: a username and password, checked exactly like HTTP Basic (same cache and
   * throttles), exchanged for a token bound to the principal's current credentials.
   */
  async login(
    facts: AddressFacts,
    username: string,
    password: string,
    nowMs = Date.now(),
  ): Promise<{ token: string; principal: PrincipalInfo } | { refusal: Refusal }> {
    const found = await this.secret({ kind: 'basic', username, password }, this.clientAddress(facts), nowMs);
    this.d.observe?.('password', 'refusal' in found ? found.refusal.reason : 'accepted', found.hashed);
    if ('refusal' in found) return { refusal: found.refusal };
    const version = this.d.index().credentialVersion(found.principal.pk) ?? '';
    return { principal: found.principal, token: this.d.jwt.issue(found.principal.name, version, nowMs) };
  }

  private async identify(facts: RequestFacts, address: string, nowMs: number): Promise<{ principal: PrincipalInfo; method: Method } | { refusal: Refusal }> {
    const header = facts.authorization?.trim();
    const bearer = /^bearer\s+(\S+)$/i.exec(header ?? '')?.[1];
    if (bearer !== undefined && looksLikeJwt(bearer)) return this.observed('jwt', this.fromJwt(bearer, nowMs));
    const cred = parseAuthorization(header);
    if (cred !== undefined) return this.fromSecret(cred, address, nowMs);
    if (facts.certificate !== undefined) return this.observed('certificate', this.fromCertificate(facts.certificate));
    this.d.observe?.('none', 'missing', false);
    return { refusal: refusal('missing') };
  }

  private async fromSecret(cred: Credential, address: string, nowMs: number): Promise<{ principal: PrincipalInfo; method: Method } | { refusal: Refusal }> {
    const method = cred.kind === 'key' || looksLikeApiKey(cred.password) ? 'api-key' : 'password';
    const found = await this.secret(cred, address, nowMs);
    this.d.observe?.(method, 'refusal' in found ? found.refusal.reason : 'accepted', found.hashed);
    return 'refusal' in found ? { refusal: found.refusal } : { principal: found.principal, method };
  }

  private observed(method: Method, principal: PrincipalInfo | undefined): { principal: PrincipalInfo; method: Method } | { refusal: Refusal } {
    this.d.observe?.(method, principal === undefined ? 'rejected' : 'accepted', false);
    return principal === undefined ? { refusal: refusal('rejected') } : { principal, method };
  }

  /** The enabled principal a login token names, if the token is ours, unexpired, and its credentials are unchanged. */
  private fromJwt(token: string, nowMs: number): PrincipalInfo | undefined {
    const claims = this.d.jwt.verify(token, nowMs);
    if (claims === undefined) return undefined;
    const index = this.d.index();
    const p = index.byName(claims.sub);
    return p !== undefined && !p.disabled && index.credentialVersion(p.pk) === claims.cv ? p : undefined;
  }

  /** A verified certificate's subject CN names the principal (as in Kubernetes' x509 authentication). */
  private fromCertificate(cert: CertificateFacts): PrincipalInfo | undefined {
    const p = cert.subjectCN === undefined ? undefined : this.d.index().byName(cert.subjectCN);
    return p !== undefined && !p.disabled ? p : undefined;
  }

  /**
   * A password or API key: remembered verdicts first (no hash, no throttle), then the throttles,
   * charged before the slow hash runs, then the hash.
   */
  private async secret(cred: Credential, address: string, nowMs: number): Promise<Verified> {
    const v = this.d.verifier;
    const subject = v.subject(cred, nowMs);
    const recall = v.recall(subject, nowMs);
    if (recall.kind === 'accepted') return { principal: recall.principal, hashed: false };
    if (recall.kind === 'refused') return { refusal: refusal('rejected'), hashed: false };
    const admission = this.d.throttle.admit(address, subject.name, nowMs, recall.kind === 'trusted');
    if (!admission.ok) return { refusal: refusal(admission.reason === 'busy' ? 'busy' : 'throttled', admission.retryAfterMs), hashed: false };
    const principal = await v.verify(subject, nowMs);
    admission.settle(principal !== undefined);
    return principal === undefined ? { refusal: refusal('rejected'), hashed: true } : { principal, hashed: true };
  }
}

/** The pipeline's settings, from the environment (AUTH_*, RATE_LIMIT_*, TRUSTED_PROXIES, TAXII1_JWT_TTL_SECONDS). */
export interface AuthSettings {
  readonly cacheSeconds: number;
  /** How long a credential that verified stays exempt from the failure throttle (at least cacheSeconds). */
  readonly trustSeconds: number;
  readonly failuresPerMinutePerAddress: number;
  readonly failuresPerMinutePerAddressAndUser: number;
  readonly hashesPerSecond: number;
  /** Default per-principal request rate; undefined = unlimited unless the principal sets one. */
  readonly defaultRate: RequestRate | undefined;
  readonly trustedProxies: readonly string[];
  readonly jwtKey: Buffer;
  readonly jwtTtlSeconds: number;
}

/** The authenticator over the current catalogue (`index` is read on every request, so reloads apply at once). */
export function createAuthenticator(settings: AuthSettings, index: () => AccessIndex, observe?: AuthenticatorDeps['observe']): Authenticator {
  return new Authenticator({
    index,
    verifier: new CredentialVerifier(index, {
      cacheSeconds: settings.cacheSeconds,
      trustSeconds: Math.max(settings.cacheSeconds, settings.trustSeconds),
      maxEntries: 50_000,
    }),
    throttle: new AuthThrottle(settings),
    requests: new RequestLimiter(settings.defaultRate),
    proxies: new TrustedProxies(settings.trustedProxies),
    jwt: new JwtIssuer(settings.jwtKey, settings.jwtTtlSeconds),
    ...(observe !== undefined && { observe }),
  });
}
