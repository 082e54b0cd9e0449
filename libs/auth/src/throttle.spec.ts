import { describe, expect, it } from 'vitest';
import { AuthThrottle } from './throttle';

const settings = { failuresPerMinutePerAddress: 30, failuresPerMinutePerAddressAndUser: 10, hashesPerSecond: 1000 };

describe('AuthThrottle', () => {
  it('charges an attempt before its hash, so concurrent guesses cannot overrun the limit', () => {
    const t = new AuthThrottle(settings);
    const admitted = Array.from({ length: 100 }, () => t.admit('A', 'demo', 0)).filter((a) => a.ok);
    expect(admitted).toHaveLength(10);
    expect(t.admit('A', 'demo', 0)).toMatchObject({ ok: false, reason: 'failures', retryAfterMs: 6000 });
  });

  it('never refuses a user from another address because of failures from one', () => {
    const t = new AuthThrottle(settings);
    for (let i = 0; i < 1000; i++) {
      const a = t.admit('A', 'demo', i);
      if (a.ok) a.settle(false);
    }
    expect(t.admit('B', 'demo', 1000).ok).toBe(true);
  });

  it('refunds a success, so a user who logs in is not counted as failing', () => {
    const t = new AuthThrottle(settings);
    for (let i = 0; i < 50; i++) {
      const a = t.admit('A', 'demo', 0);
      expect(a.ok).toBe(true);
      if (a.ok) a.settle(true);
    }
  });

  it('slows an address failing across usernames, and lets it recover within the refill time', () => {
    const t = new AuthThrottle(settings);
    for (let i = 0; i < 30; i++) {
      const a = t.admit('A', `user${i}`, 0);
      if (a.ok) a.settle(false);
    }
    expect(t.admit('A', 'fresh', 0)).toMatchObject({ ok: false, reason: 'failures', retryAfterMs: 2000 });
    expect(t.admit('A', 'fresh', 2000).ok).toBe(true);
    expect(t.admit('A', 'fresh2', 60_000).ok).toBe(true);
  });

  it('lets a trusted credential past the failure buckets', () => {
    const t = new AuthThrottle(settings);
    for (let i = 0; i < 40; i++) {
      const a = t.admit('A', 'demo', 0);
      if (a.ok) a.settle(false);
    }
    expect(t.admit('A', 'demo', 0).ok).toBe(false);
    expect(t.admit('A', 'demo', 0, true).ok).toBe(true);
  });

  it('bounds slow hashes per second, holding half back from failing addresses', () => {
    const t = new AuthThrottle({ failuresPerMinutePerAddress: 1000, failuresPerMinutePerAddressAndUser: 1000, hashesPerSecond: 10 });
    let flood = 0;
    for (let i = 0; i < 100; i++) {
      const a = t.admit('attacker', `u${i}`, 0);
      if (a.ok) {
        flood++;
        a.settle(false);
      }
    }
    // The first attempt is from a clean address; then it is failing and may use only the top half.
    expect(flood).toBe(10);
    expect(t.admit('attacker', 'x', 0)).toMatchObject({ ok: false, reason: 'busy' });
    for (let i = 0; i < 10; i++) {
      const a = t.admit('newcomer', 'alice', 0);
      expect(a.ok).toBe(true);
      if (a.ok) a.settle(true);
    }
    expect(t.admit('other', 'bob', 0)).toMatchObject({ ok: false, reason: 'busy', retryAfterMs: 100 });
  });
});
