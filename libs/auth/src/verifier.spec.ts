import { hashSync } from '@node-rs/argon2';
import { describe, expect, it } from 'vitest';
import type { ApiKeyInfo, PrincipalInfo } from '@taxiway/domain';
import { apiKeyId } from '@taxiway/domain';
import { issueApiKey } from './api-key';
import { parseAuthorization } from './credentials';
import { CredentialVerifier, type PrincipalDirectory } from './verifier';

const principal = (over: Partial<PrincipalInfo> = {}): PrincipalInfo => ({
  pk: 1,
  name: 'alice',
  displayName: undefined,
  passwordHash: hashSync('s3cret'),
  disabled: false,
  ...over,
});

/** In-memory fake of the catalogue's directory port. */
class Directory implements PrincipalDirectory {
  constructor(
    public principals: PrincipalInfo[],
    public keys: ApiKeyInfo[] = [],
  ) {}
  byName(n: string): PrincipalInfo | undefined {
    return this.principals.find((p) => p.name === n);
  }
  byPk(pk: number): PrincipalInfo | undefined {
    return this.principals.find((p) => p.pk === pk);
  }
  apiKey(id: string): ApiKeyInfo | undefined {
    return this.keys.find((k) => k.id === id);
  }
}

const basic = (username: string, password: string) => ({ kind: 'basic', username, password }) as const;

describe('CredentialVerifier: passwords', () => {
  it('accepts the right password and refuses a wrong one or an unknown user', async () => {
    const p = principal();
    const v = new CredentialVerifier(new Directory([p]), 60);
    expect(await v.verify(basic('alice', 's3cret'))).toBe(p);
    expect(await v.verify(basic('alice', 'nope'))).toBeUndefined();
    expect(await v.verify(basic('bob', 's3cret'))).toBeUndefined();
  });

  it('spends the same slow hash on an unknown user as on a known one', async () => {
    const v = new CredentialVerifier(new Directory([principal()]), 0);
    const time = async (user: string) => {
      const t = performance.now();
      await v.verify(basic(user, 'wrong'));
      return performance.now() - t;
    };
    await time('alice');
    const known = await time('alice');
    const unknown = await time('nobody');
    expect(unknown).toBeGreaterThan(known / 4);
  });

  it('answers repeated logins from the cache, far faster than argon2', async () => {
    const v = new CredentialVerifier(new Directory([principal()]), 60);
    const t0 = performance.now();
    await v.verify(basic('alice', 's3cret'));
    const first = performance.now() - t0;
    const t1 = performance.now();
    for (let i = 0; i < 100; i++) await v.verify(basic('alice', 's3cret'));
    expect(performance.now() - t1).toBeLessThan(first);
  });

  it('stops accepting a disabled principal even when the login is cached', async () => {
    const dir = new Directory([principal()]);
    const v = new CredentialVerifier(dir, 60);
    expect(await v.verify(basic('alice', 's3cret'))).toBeDefined();
    dir.principals = [principal({ disabled: true })];
    expect(await v.verify(basic('alice', 's3cret'))).toBeUndefined();
  });

  it('re-verifies after invalidate() when the password changed', async () => {
    const dir = new Directory([principal()]);
    const v = new CredentialVerifier(dir, 60);
    expect(await v.verify(basic('alice', 's3cret'))).toBeDefined();
    dir.principals = [principal({ passwordHash: hashSync('other') })];
    v.invalidate();
    expect(await v.verify(basic('alice', 's3cret'))).toBeUndefined();
  });
});

describe('CredentialVerifier: API keys', () => {
  const setup = async (over: Partial<ApiKeyInfo> = {}) => {
    const issued = await issueApiKey();
    const key: ApiKeyInfo = { id: issued.id, principalPk: 1, name: 'ci', secretHash: issued.secretHash, expiresAtMs: undefined, ...over };
    const dir = new Directory([principal()], [key]);
    return { issued, dir, v: new CredentialVerifier(dir, 60) };
  };

  it('issues keys with the txw_ prefix and a public id, storing only a hash', async () => {
    const { issued } = await setup();
    expect(issued.key).toMatch(/^txw_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    expect(apiKeyId(issued.key)).toBe(issued.id);
    expect(issued.secretHash).toMatch(/^\$argon2id\$/);
    expect(issued.secretHash).not.toContain(issued.key.slice(17));
  });

  it.each(['Bearer', 'Token'])('accepts a key as %s', async (scheme) => {
    const { issued, v } = await setup();
    expect((await v.verify(parseAuthorization(`${scheme} ${issued.key}`) ?? basic('', '')))?.name).toBe('alice');
  });

  it('accepts a key as the Basic password with any username', async () => {
    const { issued, v } = await setup();
    expect((await v.verify(basic('whoever', issued.key)))?.name).toBe('alice');
  });

  it('refuses a wrong secret for a real key id, a malformed key and an unknown id', async () => {
    const { issued, v } = await setup();
    const forged = `${issued.key.slice(0, 17)}${'A'.repeat(43)}`;
    expect(await v.verify({ kind: 'key', key: forged })).toBeUndefined();
    expect(await v.verify({ kind: 'key', key: 'txw_short' })).toBeUndefined();
    expect(await v.verify({ kind: 'key', key: `txw_zzzzzzzzzzzz_${'A'.repeat(43)}` })).toBeUndefined();
  });

  it('refuses an expired key', async () => {
    const { issued, v } = await setup({ expiresAtMs: Date.now() - 1 });
    expect(await v.verify({ kind: 'key', key: issued.key })).toBeUndefined();
  });

  it('stops accepting a revoked key at once, even though it was cached', async () => {
    const { issued, dir, v } = await setup();
    expect(await v.verify({ kind: 'key', key: issued.key })).toBeDefined();
    dir.keys = [];
    expect(await v.verify({ kind: 'key', key: issued.key })).toBeUndefined();
  });

  it('refuses a key of a disabled principal', async () => {
    const { issued, dir, v } = await setup();
    dir.principals = [principal({ disabled: true })];
    expect(await v.verify({ kind: 'key', key: issued.key })).toBeUndefined();
  });
});
