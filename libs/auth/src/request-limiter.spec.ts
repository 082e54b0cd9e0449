import { describe, expect, it } from 'vitest';
import type { PrincipalInfo } from '@taxiway/domain';
import { RequestLimiter } from './request-limiter';

const p = (over: Partial<PrincipalInfo> = {}): PrincipalInfo => ({
  pk: 1,
  name: 'a',
  displayName: undefined,
  passwordHash: undefined,
  disabled: false,
  ...over,
});

describe('RequestLimiter', () => {
  it("is unlimited by default and applies a principal's own rate", () => {
    const l = new RequestLimiter(undefined);
    for (let i = 0; i < 1000; i++) expect(l.take(p(), 0).ok).toBe(true);
    const limited = p({ pk: 2, rateLimit: { perSecond: 1, burst: 2 } });
    expect([1, 2, 3].map(() => l.take(limited, 0).ok)).toEqual([true, true, false]);
    expect(l.take(limited, 0)).toEqual({ ok: false, retryAfterMs: 1000 });
  });

  it('applies the default rate to principals without their own', () => {
    const l = new RequestLimiter({ perSecond: 10, burst: 1 });
    expect(l.take(p(), 0).ok).toBe(true);
    expect(l.take(p(), 0)).toEqual({ ok: false, retryAfterMs: 100 });
  });
});
