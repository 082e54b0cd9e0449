import { createHmac, randomBytes } from 'node:crypto';
import { verify } from '@node-rs/argon2';
import type { PrincipalInfo } from '@taxiway/domain';
import type { Credential } from './credentials';

export interface PrincipalDirectory {
  byName(name: string): PrincipalInfo | undefined;
}

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

  async verify(cred: Credential, nowMs = Date.now()): Promise<PrincipalInfo | undefined> {
    if (cred.kind !== 'basic') return undefined; // API keys arrive with the key model (issue 3)
    const digest = this.digestOf(cred.username, cred.password);
    const hit = this.cache.get(digest);
    const principal = this.directory.byName(cred.username);
    if (!canUsePassword(principal)) return undefined;
    if (hit !== undefined && hit.expiresAt > nowMs && hit.principalPk === principal.pk) return principal;
    if (!(await passwordMatches(principal.passwordHash, cred.password))) return undefined;
    this.remember(digest, principal.pk, nowMs);
    return principal;
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
