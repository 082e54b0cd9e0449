import { TokenBuckets, type BucketRate } from './rate-limit';

export interface ThrottleSettings {
  /** Failed attempts allowed per minute from one client address (any usernames). */
  readonly failuresPerMinutePerAddress: number;
  /** Failed attempts allowed per minute for one username (or key id) from one client address. */
  readonly failuresPerMinutePerAddressAndUser: number;
  /** Slow-hash verifications per second, for the whole replica. */
  readonly hashesPerSecond: number;
}

/** Why an attempt was refused before any hashing. */
export type ThrottleReason = 'failures' | 'busy';

/** May the slow hash run for this attempt? If so, `settle` says how it went. */
export type Admission =
  { readonly ok: true; settle(success: boolean): void } | { readonly ok: false; readonly reason: ThrottleReason; readonly retryAfterMs: number };

const perMinute = (n: number): BucketRate => ({ perSecond: n / 60, burst: n });

/**
 * Throttles password and key attempts the way OWASP's authentication guidance recommends, so that
 * guessing is slow and nobody can lock anyone else out:
 * - failures are counted per (client address, username) and per client address, never per username
 *   alone: failures from one address never refuse that user from another;
 * - an attempt is charged *before* its slow hash runs (and refunded if it succeeds), so concurrent
 *   guesses cannot overrun the limit;
 * - the slow hashes of the whole replica have a budget per second; an attempt past it is refused at
 *   once instead of queueing behind a flood. Half of the budget is held back for addresses that are
 *   not failing and for credentials that verified before, so a flood from failing addresses cannot
 *   starve a legitimate first login.
 * Credentials that verified recently skip the failure buckets altogether (the caller says so).
 */
export class AuthThrottle {
  private readonly failures = new TokenBuckets();
  private readonly hashes = new TokenBuckets(1);
  private readonly perAddress: BucketRate;
  private readonly perPair: BucketRate;
  private readonly budget: BucketRate;

  constructor(settings: ThrottleSettings) {
    this.perAddress = perMinute(settings.failuresPerMinutePerAddress);
    this.perPair = perMinute(settings.failuresPerMinutePerAddressAndUser);
    this.budget = { perSecond: settings.hashesPerSecond, burst: Math.max(2, 2 * settings.hashesPerSecond) };
  }

  /**
   * Admits one slow verification by `address` for `subject` (a username or key id), or says why not
   * and when to come back. `trusted`: the credential verified on this replica before, so the failure
   * buckets do not apply (it still needs the hash budget).
   */
  admit(address: string, subject: string | undefined, nowMs: number, trusted = false): Admission {
    const a = `a:${address}`;
    const pair = `u:${address}\0${subject ?? ''}`;
    if (!trusted) {
      const blocked = this.failures.blocked(a, this.perAddress, nowMs);
      if (!blocked.ok) return { ok: false, reason: 'failures', retryAfterMs: blocked.retryAfterMs };
      const pairBlocked = this.failures.blocked(pair, this.perPair, nowMs);
      if (!pairBlocked.ok) return { ok: false, reason: 'failures', retryAfterMs: pairBlocked.retryAfterMs };
    }
    const failing = !trusted && this.failures.level(a, this.perAddress, nowMs) < this.perAddress.burst;
    const hash = this.takeHash(nowMs, failing);
    if (hash !== undefined) return { ok: false, reason: 'busy', retryAfterMs: hash };
    if (trusted) return { ok: true, settle: () => undefined };
    this.failures.take(a, this.perAddress, nowMs);
    this.failures.take(pair, this.perPair, nowMs);
    return {
      ok: true,
      settle: (success: boolean) => {
        if (!success) return;
        this.failures.give(a, this.perAddress, nowMs);
        this.failures.give(pair, this.perPair, nowMs);
      },
    };
  }

  /** Takes one hash from the budget; a failing address only while more than the reserve is left. Else ms to wait. */
  private takeHash(nowMs: number, failing: boolean): number | undefined {
    const reserve = failing ? this.budget.burst / 2 : 0;
    const level = this.hashes.level('h', this.budget, nowMs);
    if (level >= 1 + reserve) {
      this.hashes.take('h', this.budget, nowMs);
      return undefined;
    }
    return Math.max(1, Math.ceil(((1 + reserve - level) / this.budget.perSecond) * 1000));
  }
}
