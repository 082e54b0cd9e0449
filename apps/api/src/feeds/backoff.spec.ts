import { describe, expect, it } from 'vitest';
import { backoff, backoffCeiling, DEFAULT_BACKOFF } from './backoff';

describe('backoff', () => {
  const s = { baseMs: 100, maxMs: 10_000 };

  it('doubles the ceiling per attempt from the base up to the maximum', () => {
    expect([0, 1, 2, 3, 6, 7, 8, 1000].map((a) => backoffCeiling(a, s))).toEqual([100, 200, 400, 800, 6400, 10_000, 10_000, 10_000]);
  });

  it('is uniform between zero and the ceiling (full jitter), deterministic for a given random source', () => {
    expect(backoff(3, s, () => 0)).toBe(0);
    expect(backoff(3, s, () => 0.5)).toBe(400);
    expect(backoff(3, s, () => 0.999999)).toBe(799);
    expect(backoff(20, s, () => 0.25)).toBe(2500);
    const seq = [0.1, 0.9, 0.3];
    const rand = (): number => seq.shift() ?? 0;
    expect([backoff(0, s, rand), backoff(1, s, rand), backoff(2, s, rand)]).toEqual([10, 180, 120]);
  });

  it('stays within bounds for odd inputs: negative or fractional attempts, a random source out of range, overflow', () => {
    expect(backoff(-5, s, () => 1)).toBe(100);
    expect(backoff(1.7, s, () => 1)).toBe(200);
    expect(backoff(Number.POSITIVE_INFINITY, s, () => 1)).toBe(10_000);
    expect(backoff(2, s, () => 7)).toBe(400);
    expect(backoff(2, s, () => -1)).toBe(0);
    expect(backoffCeiling(10_000, { baseMs: 1, maxMs: Number.MAX_SAFE_INTEGER })).toBe(2 ** 52);
  });

  it('spreads waits over the whole range with the default random source', () => {
    const waits = Array.from({ length: 400 }, () => backoff(4, DEFAULT_BACKOFF));
    expect(Math.min(...waits)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...waits)).toBeLessThanOrEqual(16_000);
    expect(Math.min(...waits)).toBeLessThan(4000);
    expect(Math.max(...waits)).toBeGreaterThan(12_000);
  });
});
