/** A token bucket's shape: `burst` tokens at most, refilled at `perSecond`. */
export interface BucketRate {
  readonly perSecond: number;
  readonly burst: number;
}

export type Take = { readonly ok: true } | { readonly ok: false; readonly retryAfterMs: number };

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Token buckets keyed by string (principal, source address, username), in memory. Pure apart from
 * the clock the caller passes in. The least recently used buckets are dropped when the table grows
 * past `maxKeys`.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly maxKeys = 100_000) {}

  private refilled(key: string, rate: BucketRate, nowMs: number): Bucket {
    const b = this.buckets.get(key);
    if (b === undefined) return { tokens: rate.burst, at: nowMs };
    return { tokens: Math.min(rate.burst, b.tokens + ((nowMs - b.at) / 1000) * rate.perSecond), at: nowMs };
  }

  /** Takes `cost` tokens if there are enough; otherwise says when there will be. */
  take(key: string, rate: BucketRate, nowMs: number, cost = 1): Take {
    const b = this.refilled(key, rate, nowMs);
    if (b.tokens < cost) {
      this.store(key, b);
      return { ok: false, retryAfterMs: Math.ceil(((cost - b.tokens) / rate.perSecond) * 1000) };
    }
    b.tokens -= cost;
    this.store(key, b);
    return { ok: true };
  }

  /** Puts back `cost` tokens taken earlier (an attempt that turned out not to count), up to the burst. */
  give(key: string, rate: BucketRate, nowMs: number, cost = 1): void {
    const b = this.refilled(key, rate, nowMs);
    b.tokens = Math.min(rate.burst, b.tokens + cost);
    this.store(key, b);
  }

  /** The tokens the bucket holds now (a full bucket for an unknown key), without taking any. */
  level(key: string, rate: BucketRate, nowMs: number): number {
    return this.refilled(key, rate, nowMs).tokens;
  }

  /** True while the bucket is empty (used to refuse before doing work), without taking a token. */
  blocked(key: string, rate: BucketRate, nowMs: number): Take {
    const b = this.refilled(key, rate, nowMs);
    return b.tokens >= 1 ? { ok: true } : { ok: false, retryAfterMs: Math.ceil(((1 - b.tokens) / rate.perSecond) * 1000) };
  }

  /**
   * Keeps the bucket as the most recently used; past `maxKeys` the least recently used one goes. (Never
   * the whole table: a flood of new keys must not refill the buckets of the keys that are throttled.)
   */
  private store(key: string, b: Bucket): void {
    this.buckets.delete(key);
    if (this.buckets.size >= this.maxKeys) {
      const oldest = this.buckets.keys().next();
      if (oldest.done !== true) this.buckets.delete(oldest.value);
    }
    this.buckets.set(key, b);
  }
}
