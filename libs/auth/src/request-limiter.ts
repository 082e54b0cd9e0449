import type { PrincipalInfo, RequestRate } from '@taxiway/domain';
import { TokenBuckets, type Take } from './rate-limit';

/**
 * Per-replica request rates: a token bucket per principal (its own rate, else the default;
 * undefined = unlimited unless the principal sets one).
 */
export class RequestLimiter {
  private readonly requests = new TokenBuckets();

  constructor(private readonly defaultRate: RequestRate | undefined) {}

  /** Takes one request from the principal's bucket. */
  take(principal: PrincipalInfo, nowMs: number): Take {
    const rate = principal.rateLimit ?? this.defaultRate;
    return rate === undefined ? { ok: true } : this.requests.take(`p:${principal.pk}`, rate, nowMs);
  }
}
