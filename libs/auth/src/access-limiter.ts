import type { PrincipalInfo, RequestRate } from '@taxiway/domain';
import { TokenBuckets, type Take } from './rate-limit';

export interface LimitSettings {
  /** Default per-principal rate; undefined = unlimited unless the principal sets one. */
  readonly defaultRate: RequestRate | undefined;
  readonly failuresPerMinutePerAddress: number;
  readonly failuresPerMinutePerUser: number;
}

const perMinute = (n: number): RequestRate => ({ perSecond: n / 60, burst: n });

/**
 * Per-replica request limits: a token bucket per principal (its own rate, else the default), and
 * failed-authentication throttling per source address and per username, which refuses further
 * attempts (even correct ones) until the bucket refills, so passwords cannot be guessed at speed.
 */
export class AccessLimiter {
  private readonly requests = new TokenBuckets();
  private readonly failures = new TokenBuckets();
  private readonly perAddress: RequestRate;
  private readonly perUser: RequestRate;

  constructor(private readonly settings: LimitSettings) {
    this.perAddress = perMinute(settings.failuresPerMinutePerAddress);
    this.perUser = perMinute(settings.failuresPerMinutePerUser);
  }

  /** Whether an authentication attempt may be made now from this address for this username. */
  authAllowed(address: string, username: string | undefined, nowMs: number): Take {
    const byAddress = this.failures.blocked(`a:${address}`, this.perAddress, nowMs);
    if (!byAddress.ok || username === undefined) return byAddress;
    return this.failures.blocked(`u:${username}`, this.perUser, nowMs);
  }

  recordFailure(address: string, username: string | undefined, nowMs: number): void {
    this.failures.take(`a:${address}`, this.perAddress, nowMs);
    if (username !== undefined) this.failures.take(`u:${username}`, this.perUser, nowMs);
  }

  /** Takes one request from the principal's bucket. */
  takeRequest(principal: PrincipalInfo, nowMs: number): Take {
    const rate = principal.rateLimit ?? this.settings.defaultRate;
    return rate === undefined ? { ok: true } : this.requests.take(`p:${principal.pk}`, rate, nowMs);
  }
}
