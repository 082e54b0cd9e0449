import { describe, expect, it } from 'vitest';
import { JwtIssuer, looksLikeJwt } from './jwt';

describe('JwtIssuer', () => {
  const issuer = new JwtIssuer(Buffer.from('k'.repeat(32)), 60);

  it('verifies the tokens it issued until they expire', () => {
    const t = issuer.issue('alice', 'v1', 1_000_000);
    expect(looksLikeJwt(t)).toBe(true);
    expect(issuer.verify(t, 1_000_000)).toMatchObject({ sub: 'alice', cv: 'v1' });
    expect(issuer.verify(t, 1_000_000 + 61_000)).toBeUndefined();
  });

  it('refuses a token signed with another key or with an edited payload', () => {
    const other = new JwtIssuer(Buffer.from('x'.repeat(32)), 60).issue('alice', 'v1');
    expect(issuer.verify(other)).toBeUndefined();
    const [h, , s] = issuer.issue('alice', 'v1').split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ sub: 'admin', cv: 'v1', iat: 0, exp: 9e9 })).toString('base64url')}.${s}`;
    expect(issuer.verify(forged)).toBeUndefined();
  });

  it('refuses tokens with another algorithm header', () => {
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"a","iat":0,"exp":9e9}').toString('base64url')}.`;
    expect(issuer.verify(none)).toBeUndefined();
  });
});
