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

/** True if `password` matches the argon2 `hash`; a malformed hash counts as a mismatch. */
async function passwordMatches(hash: string, password: string): Promise<boolean> {
  try {
    return await verify(hash, password);
  } catch {
    return false;
  }
}

/** A verdict holds while it was reached against the same stored hash of the same principal. */
function holds(m: Memo, s: Subject): boolean {
  return m.stamp === (s.hash ?? '') && m.principalPk === s.principal?.pk;
}

function keyExpired(info: ApiKeyInfo | undefined, nowMs: number): boolean {
  return info?.expiresAtMs !== undefined && info.expiresAtMs <= nowMs;
}

/**
 * What a password or key credential is checked against right now: the principal it would
 * authenticate and the stored hash (the stamp). A remembered verdict holds only while the stamp is
 * the same, so a new password, a re-issued or revoked key, or a removed principal makes every
 * remembered verdict about it moot at once, on every replica that loaded the change.
 */
export interface Subject {
  /** Username or key id: what the failure throttle counts per address. */
  readonly name: string | undefined;
  readonly principal: PrincipalInfo | undefined;
  /** The stored hash; undefined when there is none (unknown user, revoked key): the dummy is checked. */
  readonly hash: string | undefined;
  /** Refused whatever the secret: disabled owner, expired key, malformed key. */
  readonly barred: boolean;
  readonly secret: string;
  readonly digest: string;
}

interface Memo {
  readonly principalPk: number | undefined;
  readonly stamp: string;
  readonly ok: boolean;
  readonly atMs: number;
}

/** What the memo knows of a credential before any slow hash. */
export type Recall =
  | { readonly kind: 'accepted'; readonly principal: PrincipalInfo }
  | { readonly kind: 'refused' }
  /** Verified before, longer ago than the cache time: hash again, but not a suspect. */
  | { readonly kind: 'trusted' }
  | { readonly kind: 'unknown' };

export interface VerifierSettings {
  /** How long a verified credential is accepted without hashing again (AUTH_CACHE_SECONDS). */
  readonly cacheSeconds: number;
  /** How long a verified credential stays exempt from the failure throttle. */
  readonly trustSeconds: number;
  /** Remembered credentials, verified and refused (least recently used go first). */
  readonly maxEntries: number;
}

/**
 * Verifies passwords and API keys against argon2id hashes, and remembers verdicts under a keyed
 * digest of the credential (the plain secret is never kept):
 * - a credential that verified is accepted without hashing for `cacheSeconds`, and is exempt from
 *   the failure throttle for `trustSeconds`;
 * - a credential that failed is refused without hashing for `cacheSeconds`, so a client retrying a
 *   stale password costs nothing and is not counted as a new guess.
 * Each verdict holds only while the stored hash it was reached against is unchanged (see Subject).
 */
export class CredentialVerifier {
  private readonly memo = new Map<string, Memo>();
  private readonly digestKey = randomBytes(32);
  /** Slow hashes run so far (for metrics and tests). */
  hashes = 0;

  constructor(
    private readonly directory: () => PrincipalDirectory,
    private readonly settings: VerifierSettings,
  ) {}

  /** What a password or key credential would be checked against. */
  subject(cred: Credential, nowMs: number): Subject {
    const dir = this.directory();
    if (cred.kind === 'key' || looksLikeApiKey(cred.password)) return this.keySubject(dir, cred.kind === 'key' ? cred.key : cred.password, nowMs);
    const principal = dir.byName(cred.username);
    return {
      name: cred.username,
      principal,
      hash: principal?.passwordHash,
      barred: principal?.disabled === true,
      secret: cred.password,
      digest: this.digestOf(`p\0${cred.username}`, cred.password),
    };
  }

  private keySubject(dir: PrincipalDirectory, key: string, nowMs: number): Subject {
    const id = apiKeyId(key);
    const info = id === undefined ? undefined : dir.apiKey(id);
    const principal = info === undefined ? undefined : dir.byPk(info.principalPk);
    return {
      name: id ?? '(malformed key)',
      principal,
      hash: principal === undefined ? undefined : info?.secretHash,
      barred: id === undefined || keyExpired(info, nowMs) || principal?.disabled === true,
      secret: key,
      digest: this.digestOf('k', key),
    };
  }

  /** The remembered verdict on this credential, if it still holds. */
  recall(s: Subject, nowMs: number): Recall {
    const m = this.memo.get(s.digest);
    if (m === undefined || !holds(m, s)) return { kind: 'unknown' };
    const age = nowMs - m.atMs;
    const fresh = age < this.settings.cacheSeconds * 1000;
    if (!m.ok) return fresh ? { kind: 'refused' } : { kind: 'unknown' };
    if (s.principal === undefined || s.barred) return { kind: 'refused' };
    if (fresh) return { kind: 'accepted', principal: s.principal };
    return age < this.settings.trustSeconds * 1000 ? { kind: 'trusted' } : { kind: 'unknown' };
  }

  /**
   * The slow check: the secret against the stored hash (or a dummy of the same cost, so response
   * times do not tell which usernames or key ids exist). The verdict is remembered.
   */
  async verify(s: Subject, nowMs: number): Promise<PrincipalInfo | undefined> {
    this.hashes++;
    const matches = await passwordMatches(s.hash ?? DUMMY_HASH, s.secret);
    const ok = matches && s.hash !== undefined && s.principal !== undefined && !s.barred;
    this.remember(s.digest, { principalPk: s.principal?.pk, stamp: s.hash ?? '', ok, atMs: nowMs });
    return ok ? s.principal : undefined;
  }

  private digestOf(scope: string, secret: string): string {
    return createHmac('sha256', this.digestKey).update(scope).update('\0').update(secret).digest('base64');
  }

  private remember(digest: string, m: Memo): void {
    if (this.settings.trustSeconds <= 0 && this.settings.cacheSeconds <= 0) return;
    this.memo.delete(digest);
    if (this.memo.size >= this.settings.maxEntries) {
      const oldest = this.memo.keys().next();
      if (oldest.done !== true) this.memo.delete(oldest.value);
    }
    this.memo.set(digest, m);
  }
}
