import { createHmac, randomBytes } from 'node:crypto';
import { verify } from '@node-rs/argon2';
import { apiKeyId, looksLikeApiKey, type ApiKeyInfo, type PrincipalInfo } from '@taxiway/domain';
import type { Credential } from './credentials';

export interface PrincipalDirectory {
  byName(name: string): PrincipalInfo | undefined;
  byPk(pk: number): PrincipalInfo | undefined;
  /** A key that is not revoked, by its public id. */
  apiKey(id: string): ApiKeyInfo | undefined;
}

/** A fixed, valid argon2id hash: unknown users cost the same slow verification as known ones. */
const DUMMY_HASH = '$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$dRzY82fgceWJKqstlAB6sn56dYrekptRpYPqbR1lZQg';

interface CacheEntry {
  readonly principalPk: number;
  readonly expiresAt: number;
}

/** A principal that may log in with a password: known, enabled and holding a hash. */
type PasswordPrincipal = PrincipalInfo & { readonly passwordHash: string };

function canUsePassword(principal: PrincipalInfo | undefined): principal is PasswordPrincipal {
  return principal !== undefined && !principal.disabled && principal.passwordHash !== undefined;
}

/** True if `password` matches the argon2 `hash`; a malformed hash counts as a mismatch. */
async function passwordMatches(hash: string, password: string): Promise<boolean> {
  try {
    return await verify(hash, password);
  } catch {
    return false;
  }
}

/**
 * Verifies credentials against argon2id hashes. The slow hash runs once per credential per
 * `cacheSeconds`: a success is cached under a keyed digest of the credential (the plain secret is
 * never kept), and the whole cache is dropped when the catalogue changes (revocation, new hash).
 */
export class CredentialVerifier {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly cacheKey = randomBytes(32);

  constructor(
    private readonly directory: PrincipalDirectory,
    private readonly cacheSeconds: number,
    private readonly maxEntries = 10_000,
  ) {}

  invalidate(): void {
    this.cache.clear();
  }

  /**
   * The principal a credential authenticates, or undefined. API keys are accepted as `Bearer` or
   * `Token`, and as the password of Basic auth (any username), as many TAXII clients only do Basic.
   */
  async verify(cred: Credential, nowMs = Date.now()): Promise<PrincipalInfo | undefined> {
    if (cred.kind === 'key') return this.verifyKey(cred.key, nowMs);
    if (looksLikeApiKey(cred.password)) return this.verifyKey(cred.password, nowMs);
    const digest = this.digestOf(cred.username, cred.password);
    const principal = this.directory.byName(cred.username);
    if (!canUsePassword(principal)) {
      // Same slow work as a real check, so response time does not tell which usernames exist.
      await passwordMatches(DUMMY_HASH, cred.password);
      return undefined;
    }
    if (this.cached(digest, principal.pk, nowMs)) return principal;
    if (!(await passwordMatches(principal.passwordHash, cred.password))) return undefined;
    this.remember(digest, principal.pk, nowMs);
    return principal;
  }

  /** An API key: found by its public id, not revoked, not expired, owner enabled, secret matching its hash. */
  private async verifyKey(key: string, nowMs: number): Promise<PrincipalInfo | undefined> {
    const id = apiKeyId(key);
    const info = id === undefined ? undefined : this.directory.apiKey(id);
    if (info === undefined) {
      // Same slow work as a real check, so response time does not tell which key ids exist.
      await passwordMatches(DUMMY_HASH, key);
      return undefined;
    }
    if (info.expiresAtMs !== undefined && info.expiresAtMs <= nowMs) return undefined;
    const principal = this.directory.byPk(info.principalPk);
    if (principal === undefined || principal.disabled) return undefined;
    const digest = this.digestOf('\u0001key', key);
    if (this.cached(digest, principal.pk, nowMs)) return principal;
    if (!(await passwordMatches(info.secretHash, key))) return undefined;
    this.remember(digest, principal.pk, nowMs);
    return principal;
  }

  private cached(digest: string, principalPk: number, nowMs: number): boolean {
    const hit = this.cache.get(digest);
    return hit !== undefined && hit.expiresAt > nowMs && hit.principalPk === principalPk;
  }

  /** The cache key of a credential: a keyed digest, so the plain secret is never kept. */
  private digestOf(username: string, password: string): string {
    return createHmac('sha256', this.cacheKey).update(username).update('\0').update(password).digest('base64');
  }

  /** Caches a successful login (if caching is on), dropping the whole cache when it is full. */
  private remember(digest: string, principalPk: number, nowMs: number): void {
    if (this.cacheSeconds > 0) {
      if (this.cache.size >= this.maxEntries) this.cache.clear();
      this.cache.set(digest, { principalPk, expiresAt: nowMs + this.cacheSeconds * 1000 });
    }
  }
}
