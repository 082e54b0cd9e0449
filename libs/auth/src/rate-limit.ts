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
 * the clock the caller passes in. Idle buckets are dropped when the table grows past `maxKeys`
 * (a full bucket carries no state worth keeping).
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
      this.buckets.set(key, b);
      return { ok: false, retryAfterMs: Math.ceil(((cost - b.tokens) / rate.perSecond) * 1000) };
    }
    b.tokens -= cost;
    this.store(key, b);
    return { ok: true };
  }

  /** True while the bucket is empty (used to refuse before doing work), without taking a token. */
  blocked(key: string, rate: BucketRate, nowMs: number): Take {
    const b = this.refilled(key, rate, nowMs);
    return b.tokens >= 1 ? { ok: true } : { ok: false, retryAfterMs: Math.ceil(((1 - b.tokens) / rate.perSecond) * 1000) };
  }

  private store(key: string, b: Bucket): void {
    if (this.buckets.size >= this.maxKeys && !this.buckets.has(key)) this.buckets.clear();
    this.buckets.set(key, b);
  }
}
