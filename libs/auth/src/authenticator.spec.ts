import { hashSync } from '@node-rs/argon2';
import { describe, expect, it } from 'vitest';
import type { ApiKeyInfo, CatalogSnapshot, PrincipalInfo } from '@taxiway/domain';
import { apiKeyId } from '@taxiway/domain';
import { issueApiKey } from './api-key';
import { createAuthenticator, type AuthSettings } from './authenticator';
import { AccessIndex } from './grants';

const HASH = hashSync('s3cret');
const principal = (over: Partial<PrincipalInfo> = {}): PrincipalInfo => ({
  pk: 1,
  name: 'alice',
  displayName: undefined,
  passwordHash: HASH,
  disabled: false,
  ...over,
});
const snapshot = (principals: PrincipalInfo[], apiKeys: ApiKeyInfo[] = []): CatalogSnapshot => ({
  roots: [],
  collections: [],
  principals,
  rootGrants: [],
  collectionGrants: [],
  groupRootGrants: [],
  groupCollectionGrants: [],
  apiKeys,
});

const SETTINGS: AuthSettings = {
  cacheSeconds: 60,
  trustSeconds: 86_400,
  failuresPerMinutePerAddress: 30,
  failuresPerMinutePerAddressAndUser: 10,
  hashesPerSecond: 1000,
  defaultRate: undefined,
  trustedProxies: [],
  jwtKey: Buffer.alloc(32, 7),
  jwtTtlSeconds: 3600,
};

/** An authenticator over a catalogue the test can change, as a reload would. */
function setup(principals: PrincipalInfo[] = [principal()], keys: ApiKeyInfo[] = [], settings: Partial<AuthSettings> = {}) {
  const state = { index: new AccessIndex(snapshot(principals, keys)) };
  const results: string[] = [];
  const auth = createAuthenticator(
    { ...SETTINGS, ...settings },
    () => state.index,
    (_m, r, hashed) => results.push(hashed ? `${r}+hash` : r),
  );
  const reload = (p: PrincipalInfo[], k: ApiKeyInfo[] = keys) => {
    state.index = new AccessIndex(snapshot(p, k));
  };
  return { auth, reload, results };
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const from = (peer: string, authorization?: string) => ({ peer, authorization });
const ok = async (p: Promise<{ ok: boolean }>) => (await p).ok;

describe('Authenticator: passwords', () => {
  it('accepts the right password and refuses a wrong one or an unknown user as rejected', async () => {
    const { auth } = setup();
    expect(await auth.authenticate(from('A', basic('alice', 's3cret')))).toMatchObject({ ok: true, method: 'password', principal: { name: 'alice' } });
    expect(await auth.authenticate(from('A', basic('alice', 'nope')))).toMatchObject({ ok: false, refusal: { reason: 'rejected' } });
    expect(await auth.authenticate(from('A', basic('bob', 's3cret')))).toMatchObject({ ok: false, refusal: { reason: 'rejected' } });
    expect(await auth.authenticate(from('A'))).toMatchObject({ ok: false, refusal: { reason: 'missing' } });
  });

  it('spends the same slow hash on an unknown user as on a known one', async () => {
    const { auth } = setup();
    const time = async (user: string) => {
      const t = performance.now();
      await auth.authenticate(from('A', basic(user, `wrong${Math.random()}`)));
      return performance.now() - t;
    };
    await time('alice');
    const known = await time('alice');
    const unknown = await time('nobody');
    expect(unknown).toBeGreaterThan(known / 4);
  });

  it('answers repeated logins from the cache without hashing, through catalogue reloads', async () => {
    const { auth, reload, results } = setup();
    await auth.authenticate(from('A', basic('alice', 's3cret')));
    reload([principal()]);
    for (let i = 0; i < 100; i++) await auth.authenticate(from('A', basic('alice', 's3cret')));
    expect(results.filter((r) => r === 'accepted+hash')).toHaveLength(1);
    expect(results.filter((r) => r === 'accepted')).toHaveLength(100);
  });

  it('honours AUTH_CACHE_SECONDS: hashes again only once the entry is older than it', async () => {
    const { auth, results } = setup(undefined, undefined, { cacheSeconds: 120 });
    await auth.authenticate(from('A', basic('alice', 's3cret')), 0);
    await auth.authenticate(from('A', basic('alice', 's3cret')), 119_000);
    await auth.authenticate(from('A', basic('alice', 's3cret')), 121_000);
    expect(results).toEqual(['accepted+hash', 'accepted', 'accepted+hash']);
  });

  it('refuses a repeated wrong password without hashing or counting it as a new guess', async () => {
    const { auth, results } = setup();
    for (let i = 0; i < 1000; i++) expect((await auth.authenticate(from('A', basic('alice', 'stale')))).ok).toBe(false);
    expect(results.filter((r) => r === 'rejected+hash')).toHaveLength(1);
    expect(results.filter((r) => r === 'rejected')).toHaveLength(999);
    expect(await ok(auth.authenticate(from('A', basic('alice', 's3cret'))))).toBe(true);
  });

  it('stops accepting a disabled principal and a changed password at once, even when cached', async () => {
    const { auth, reload } = setup([principal(), principal({ pk: 2, name: 'bob' })]);
    await auth.authenticate(from('A', basic('alice', 's3cret')));
    await auth.authenticate(from('A', basic('bob', 's3cret')));
    reload([principal({ disabled: true }), principal({ pk: 2, name: 'bob' })]);
    expect(await ok(auth.authenticate(from('A', basic('alice', 's3cret'))))).toBe(false);
    reload([principal({ passwordHash: hashSync('other') }), principal({ pk: 2, name: 'bob' })]);
    expect(await ok(auth.authenticate(from('A', basic('alice', 's3cret'))))).toBe(false);
    expect(await ok(auth.authenticate(from('A', basic('alice', 'other'))))).toBe(true);
    expect(await auth.authenticate(from('A', basic('bob', 's3cret')))).toMatchObject({ ok: true });
  });
});

describe('Authenticator: throttling', () => {
  it('refuses guesses from one address past the limit with a retry time, but never the user from another address', async () => {
    const { auth } = setup();
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => auth.authenticate(from('A', basic('alice', `guess${i}`)))));
    expect(answers.filter((a) => !a.ok && a.refusal.reason === 'rejected')).toHaveLength(10);
    expect(answers.filter((a) => !a.ok && a.refusal.reason === 'throttled')).toHaveLength(90);
    expect(await auth.authenticate(from('A', basic('alice', 's3cret')))).toMatchObject({ ok: false, refusal: { reason: 'throttled', retryAfterSeconds: 6 } });
    expect(await ok(auth.authenticate(from('B', basic('alice', 's3cret'))))).toBe(true);
  });

  it('never refuses a credential that verified before, even from a throttled address', async () => {
    const { auth } = setup(undefined, undefined, { cacheSeconds: 1 });
    expect(await ok(auth.authenticate(from('A', basic('alice', 's3cret')), 0))).toBe(true);
    for (let i = 0; i < 50; i++) await auth.authenticate(from('A', basic('alice', `guess${i}`)), 5000);
    // Past the cache time it is hashed again, but not throttled.
    expect(await ok(auth.authenticate(from('A', basic('alice', 's3cret')), 5000))).toBe(true);
  });

  it('lets a throttled pair in again within the refill time', async () => {
    const { auth } = setup();
    for (let i = 0; i < 10; i++) await auth.authenticate(from('A', basic('alice', `guess${i}`)), 0);
    expect(await ok(auth.authenticate(from('A', basic('alice', 's3cret')), 0))).toBe(false);
    expect(await ok(auth.authenticate(from('A', basic('alice', 's3cret')), 6000))).toBe(true);
  });

  it('answers busy, before hashing, once the replica hash budget is spent', async () => {
    const { auth, results } = setup(undefined, undefined, { hashesPerSecond: 2 });
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => auth.authenticate(from(`10.0.0.${i}`, basic(`u${i}`, 'x')), 0)));
    expect(answers.filter((a) => !a.ok && a.refusal.reason === 'busy').length).toBe(16);
    expect(results.filter((r) => r === 'rejected+hash')).toHaveLength(4);
  });

  it('counts forwarded clients apart only behind a trusted proxy', async () => {
    const { auth } = setup(undefined, undefined, { trustedProxies: ['127.0.0.0/8'] });
    for (let i = 0; i < 10; i++) await auth.authenticate({ peer: '127.0.0.1', forwardedFor: '198.51.100.1', authorization: basic('alice', `g${i}`) });
    expect(await ok(auth.authenticate({ peer: '127.0.0.1', forwardedFor: '198.51.100.1', authorization: basic('alice', 's3cret') }))).toBe(false);
    expect(await ok(auth.authenticate({ peer: '127.0.0.1', forwardedFor: '198.51.100.2', authorization: basic('alice', 's3cret') }))).toBe(true);
    expect(auth.clientAddress({ peer: '203.0.113.5', forwardedFor: '198.51.100.2' })).toBe('203.0.113.5');
  });
});

describe('Authenticator: API keys', () => {
  const withKey = async (over: Partial<ApiKeyInfo> = {}) => {
    const issued = await issueApiKey();
    const key: ApiKeyInfo = { id: issued.id, principalPk: 1, name: 'ci', secretHash: issued.secretHash, expiresAtMs: undefined, ...over };
    return { issued, key, ...setup([principal()], [key]) };
  };

  it('issues keys with the txw_ prefix and a public id, storing only a hash', async () => {
    const { issued } = await withKey();
    expect(issued.key).toMatch(/^txw_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    expect(apiKeyId(issued.key)).toBe(issued.id);
    expect(issued.secretHash).toMatch(/^\$argon2id\$/);
  });

  it.each(['Bearer', 'Token'])('accepts a key as %s, and as the Basic password with any username', async (scheme) => {
    const { issued, auth } = await withKey();
    expect(await auth.authenticate(from('A', `${scheme} ${issued.key}`))).toMatchObject({ ok: true, method: 'api-key' });
    expect(await auth.authenticate(from('A', basic('whoever', issued.key)))).toMatchObject({ ok: true, method: 'api-key' });
  });

  it('refuses a wrong secret for a real key id, a malformed key, an unknown id and an expired key', async () => {
    const { issued, auth } = await withKey();
    expect(await ok(auth.authenticate(from('A', `Bearer ${issued.key.slice(0, 17)}${'A'.repeat(43)}`)))).toBe(false);
    expect(await ok(auth.authenticate(from('A', 'Bearer txw_short')))).toBe(false);
    expect(await ok(auth.authenticate(from('A', `Bearer txw_zzzzzzzzzzzz_${'A'.repeat(43)}`)))).toBe(false);
    const expired = await withKey({ expiresAtMs: Date.now() - 1 });
    expect(await ok(expired.auth.authenticate(from('A', `Bearer ${expired.issued.key}`)))).toBe(false);
  });

  it('stops accepting a revoked key at once, even though it was cached', async () => {
    const { issued, auth, reload } = await withKey();
    expect(await ok(auth.authenticate(from('A', `Bearer ${issued.key}`)))).toBe(true);
    reload([principal()], []);
    expect(await ok(auth.authenticate(from('A', `Bearer ${issued.key}`)))).toBe(false);
  });
});

describe('Authenticator: login tokens and certificates', () => {
  it('issues a token that works until the password changes or the principal goes', async () => {
    const { auth, reload } = setup();
    const login = await auth.login({ peer: 'A' }, 'alice', 's3cret');
    if (!('token' in login)) throw new Error('login refused');
    expect(await auth.authenticate(from('A', `Bearer ${login.token}`))).toMatchObject({ ok: true, method: 'jwt' });
    reload([principal({ passwordHash: hashSync('new') })]);
    expect(await auth.authenticate(from('A', `Bearer ${login.token}`))).toMatchObject({ ok: false, refusal: { reason: 'rejected' } });
    reload([principal()]);
    expect(await ok(auth.authenticate(from('A', `Bearer ${login.token}`)))).toBe(true);
    reload([]);
    expect(await ok(auth.authenticate(from('A', `Bearer ${login.token}`)))).toBe(false);
  });

  it('throttles the login endpoint like Basic', async () => {
    const { auth } = setup();
    for (let i = 0; i < 10; i++) await auth.login({ peer: 'A' }, 'alice', `g${i}`);
    expect(await auth.login({ peer: 'A' }, 'alice', 's3cret')).toMatchObject({ refusal: { reason: 'throttled' } });
  });

  it('authenticates a verified certificate by its CN, and prefers an Authorization header', async () => {
    const { auth } = setup([principal(), principal({ pk: 2, name: 'bob' })]);
    expect(await auth.authenticate({ peer: 'A', certificate: { subjectCN: 'bob' } })).toMatchObject({
      ok: true,
      method: 'certificate',
      principal: { name: 'bob' },
    });
    expect(await auth.authenticate({ peer: 'A', certificate: { subjectCN: 'bob' }, authorization: basic('alice', 's3cret') })).toMatchObject({
      principal: { name: 'alice' },
    });
    expect(await ok(auth.authenticate({ peer: 'A', certificate: { subjectCN: 'mallory' } }))).toBe(false);
  });

  it("charges the principal's request rate after authentication", async () => {
    const { auth } = setup([principal({ rateLimit: { perSecond: 1, burst: 1 } })]);
    expect(await ok(auth.authenticate(from('A', basic('alice', 's3cret')), 0))).toBe(true);
    expect(await auth.authenticate(from('A', basic('alice', 's3cret')), 0)).toMatchObject({
      ok: false,
      refusal: { reason: 'rate-limited', retryAfterSeconds: 1 },
    });
  });
});
