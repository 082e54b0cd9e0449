import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Sealer } from './sealed';

const k1 = randomBytes(32);
const k2 = randomBytes(32);

describe('Sealer', () => {
  it('opens what it sealed, in the same context', () => {
    const s = new Sealer([k1]);
    const sealed = s.seal('s3cret-pässword', 'feed:1');
    expect(sealed).not.toContain('s3cret');
    expect(s.open(sealed, 'feed:1')).toBe('s3cret-pässword');
  });

  it('seals the same text differently each time (a fresh IV)', () => {
    const s = new Sealer([k1]);
    expect(s.seal('x', 'c')).not.toBe(s.seal('x', 'c'));
  });

  it('does not open a value moved to another context, altered, or sealed under an unknown key', () => {
    const s = new Sealer([k1]);
    const sealed = s.seal('token', 'feed:1');
    expect(s.open(sealed, 'feed:2')).toBeUndefined();
    const parts = sealed.split('.');
    const body = Buffer.from(parts[3]!, 'base64url');
    body[0] = (body[0]! + 1) % 256;
    expect(s.open([...parts.slice(0, 3), body.toString('base64url'), parts[4]].join('.'), 'feed:1')).toBeUndefined();
    expect(new Sealer([k2]).open(sealed, 'feed:1')).toBeUndefined();
    expect(s.open('v2.a.b.c.d', 'feed:1')).toBeUndefined();
    expect(s.open('garbage', 'feed:1')).toBeUndefined();
  });

  it('opens values of an older key after a rotation and says they are stale', () => {
    const old = new Sealer([k1]).seal('pw', 'feed:1');
    const rotated = new Sealer([k2, k1]);
    expect(rotated.open(old, 'feed:1')).toBe('pw');
    expect(rotated.isStale(old)).toBe(true);
    expect(rotated.isStale(rotated.seal('pw', 'feed:1'))).toBe(false);
  });

  it('refuses keys that are not 32 bytes, and reads CREDENTIALS_KEY as base64', () => {
    expect(() => new Sealer([randomBytes(16)])).toThrow(/32 bytes/);
    expect(() => new Sealer([])).toThrow(/at least one key/);
    expect(Sealer.keyFromText(k1.toString('base64'))).toEqual(k1);
    expect(() => Sealer.keyFromText('c2hvcnQ=')).toThrow(/CREDENTIALS_KEY must be 32 bytes/);
  });
});
