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
    const digest = createHmac('sha256', this.cacheKey).update(cred.username).update('\0').update(cred.password).digest('base64');
    const hit = this.cache.get(digest);
    const principal = this.directory.byName(cred.username);
    if (principal === undefined || principal.disabled || principal.passwordHash === undefined) return undefined;
    if (hit !== undefined && hit.expiresAt > nowMs && hit.principalPk === principal.pk) return principal;
    let ok = false;
    try {
      ok = await verify(principal.passwordHash, cred.password);
    } catch {
      ok = false;
    }
    if (!ok) return undefined;
    if (this.cacheSeconds > 0) {
      if (this.cache.size >= this.maxEntries) this.cache.clear();
      this.cache.set(digest, { principalPk: principal.pk, expiresAt: nowMs + this.cacheSeconds * 1000 });
    }
    return principal;
  }
}
