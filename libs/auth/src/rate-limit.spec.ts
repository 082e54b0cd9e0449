import { describe, expect, it } from 'vitest';
import { TokenBuckets } from './rate-limit';

describe('TokenBuckets', () => {
  const rate = { perSecond: 2, burst: 3 };

  it('allows a burst, then refuses with the time until the next token', () => {
    const t = new TokenBuckets();
    expect([1, 2, 3].map(() => t.take('p', rate, 0).ok)).toEqual([true, true, true]);
    expect(t.take('p', rate, 0)).toEqual({ ok: false, retryAfterMs: 500 });
    expect(t.take('p', rate, 499).ok).toBe(false);
    expect(t.take('p', rate, 500).ok).toBe(true);
  });

  it('keeps keys apart and refills up to the burst only', () => {
    const t = new TokenBuckets();
    for (let i = 0; i < 3; i++) t.take('a', rate, 0);
    expect(t.take('b', rate, 0).ok).toBe(true);
    expect([1, 2, 3, 4].map(() => t.take('a', rate, 60_000).ok)).toEqual([true, true, true, false]);
  });

  it('reports a blocked key without taking a token', () => {
    const t = new TokenBuckets();
    expect(t.blocked('x', rate, 0).ok).toBe(true);
    for (let i = 0; i < 3; i++) t.take('x', rate, 0);
    expect(t.blocked('x', rate, 0)).toEqual({ ok: false, retryAfterMs: 500 });
  });

  it('bounds its memory', () => {
    const t = new TokenBuckets(10);
    for (let i = 0; i < 100; i++) t.take(`k${i}`, rate, 0);
    expect(t.take('k99', rate, 0).ok).toBe(true);
  });
});
