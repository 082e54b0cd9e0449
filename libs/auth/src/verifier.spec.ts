import { hashSync } from '@node-rs/argon2';
import { describe, expect, it } from 'vitest';
import type { PrincipalInfo } from '@taxiway/domain';
import { CredentialVerifier } from './verifier';

const principal = (over: Partial<PrincipalInfo> = {}): PrincipalInfo => ({
  pk: 1,
  name: 'alice',
  displayName: undefined,
  passwordHash: hashSync('s3cret'),
  disabled: false,
  ...over,
});

describe('CredentialVerifier', () => {
  it('accepts the right password and refuses a wrong one or an unknown user', async () => {
    const p = principal();
    const v = new CredentialVerifier({ byName: (n) => (n === 'alice' ? p : undefined) }, 60);
    expect(await v.verify({ kind: 'basic', username: 'alice', password: 's3cret' })).toBe(p);
    expect(await v.verify({ kind: 'basic', username: 'alice', password: 'nope' })).toBeUndefined();
    expect(await v.verify({ kind: 'basic', username: 'bob', password: 's3cret' })).toBeUndefined();
  });

  it('answers repeated logins from the cache, far faster than argon2', async () => {
    const p = principal();
    const v = new CredentialVerifier({ byName: () => p }, 60);
    const cred = { kind: 'basic', username: 'alice', password: 's3cret' } as const;
    const t0 = performance.now();
    await v.verify(cred);
    const first = performance.now() - t0;
    const t1 = performance.now();
    for (let i = 0; i < 100; i++) await v.verify(cred);
    const hundred = performance.now() - t1;
    expect(hundred).toBeLessThan(first);
  });

  it('stops accepting a disabled principal even when the login is cached', async () => {
    let p = principal();
    const v = new CredentialVerifier({ byName: () => p }, 60);
    const cred = { kind: 'basic', username: 'alice', password: 's3cret' } as const;
    expect(await v.verify(cred)).toBeDefined();
    p = principal({ disabled: true });
    expect(await v.verify(cred)).toBeUndefined();
  });

  it('re-verifies after invalidate() when the password changed', async () => {
    let p = principal();
    const v = new CredentialVerifier({ byName: () => p }, 60);
    const cred = { kind: 'basic', username: 'alice', password: 's3cret' } as const;
    expect(await v.verify(cred)).toBeDefined();
    p = principal({ passwordHash: hashSync('other') });
    v.invalidate();
    expect(await v.verify(cred)).toBeUndefined();
  });
});
