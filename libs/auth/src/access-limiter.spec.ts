import { describe, expect, it } from 'vitest';
import type { PrincipalInfo } from '@taxiway/domain';
import { AccessLimiter } from './access-limiter';

const p = (over: Partial<PrincipalInfo> = {}): PrincipalInfo => ({
  pk: 1,
  name: 'a',
  displayName: undefined,
  passwordHash: undefined,
  disabled: false,
  ...over,
});

describe('AccessLimiter', () => {
  it("is unlimited by default and applies a principal's own rate", () => {
    const l = new AccessLimiter({ defaultRate: undefined, failuresPerMinutePerAddress: 30, failuresPerMinutePerUser: 10 });
    for (let i = 0; i < 1000; i++) expect(l.takeRequest(p(), 0).ok).toBe(true);
    const limited = p({ pk: 2, rateLimit: { perSecond: 1, burst: 2 } });
    expect([1, 2, 3].map(() => l.takeRequest(limited, 0).ok)).toEqual([true, true, false]);
    expect(l.takeRequest(limited, 0)).toEqual({ ok: false, retryAfterMs: 1000 });
  });

  it('applies the default rate to principals without their own', () => {
    const l = new AccessLimiter({ defaultRate: { perSecond: 10, burst: 1 }, failuresPerMinutePerAddress: 30, failuresPerMinutePerUser: 10 });
    expect(l.takeRequest(p(), 0).ok).toBe(true);
    expect(l.takeRequest(p(), 0)).toEqual({ ok: false, retryAfterMs: 100 });
  });

  it('throttles authentication after too many failures per username and per address', () => {
    const l = new AccessLimiter({ defaultRate: undefined, failuresPerMinutePerAddress: 5, failuresPerMinutePerUser: 3 });
    for (let i = 0; i < 3; i++) l.recordFailure('10.0.0.1', 'alice', 0);
    expect(l.authAllowed('10.0.0.2', 'alice', 0).ok).toBe(false);
    expect(l.authAllowed('10.0.0.1', 'bob', 0).ok).toBe(true);
    for (let i = 0; i < 2; i++) l.recordFailure('10.0.0.1', 'bob', 0);
    expect(l.authAllowed('10.0.0.1', 'carol', 0)).toEqual({ ok: false, retryAfterMs: 12000 });
    expect(l.authAllowed('10.0.0.1', 'carol', 12_000).ok).toBe(true);
  });
});
