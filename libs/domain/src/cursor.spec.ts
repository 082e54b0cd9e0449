import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CursorCodec, type CursorState } from './cursor';

const state: CursorState = {
  scope: 'objects:c1:',
  principal: '7',
  filter: '[null,null,["indicator"],null,null]',
  limit: 100,
  dateAddedUs: 1_700_000_000_123_456,
  seq: 42,
  issuedAt: 1_700_000_000,
};

describe('CursorCodec', () => {
  const codec = new CursorCodec(randomBytes(32), 86400);

  it('round-trips the position, filters and limit', () => {
    expect(codec.decode(codec.encode(state), state.issuedAt + 10)).toEqual(state);
  });

  it('is URL-safe', () => {
    expect(codec.encode(state)).toMatch(/^[A-Za-z0-9_.-]+$/);
  });

  it('refuses a token whose payload was altered', () => {
    const [body, sig] = codec.encode(state).split('.');
    const forged = Buffer.from(JSON.stringify([1, 'objects:c1:', '7', '[]', 100, 0, 0, state.issuedAt])).toString('base64url');
    expect(() => codec.decode(`${forged}.${sig}`, state.issuedAt)).toThrow(expect.objectContaining({ code: 'InvalidCursor' }));
    expect(body).not.toBe(forged);
  });

  it('refuses a token signed with another key (another deployment)', () => {
    const other = new CursorCodec(randomBytes(32), 86400);
    expect(() => other.decode(codec.encode(state), state.issuedAt)).toThrow(expect.objectContaining({ code: 'InvalidCursor' }));
  });

  it('stays valid for 24 hours and expires after', () => {
    const t = codec.encode(state);
    expect(codec.decode(t, state.issuedAt + 86400).seq).toBe(42);
    expect(() => codec.decode(t, state.issuedAt + 86401)).toThrow(/expired/);
  });

  it.each(['', 'abc', 'a.b', '.', 'x'.repeat(20000)])('refuses garbage %j', (t) => {
    expect(() => codec.decode(t, 0)).toThrow(expect.objectContaining({ code: 'InvalidCursor' }));
  });
});
