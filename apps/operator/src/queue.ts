/**
 * A work queue keyed by `kind/namespace/name` (Pepr's queueKey): one key is never worked on twice at
 * once, different keys run in parallel up to `concurrency`, a key added while queued is queued once,
 * and a key added while it is being worked on runs again afterwards. Delayed adds (requeue after,
 * backoff) keep only the earliest due time.
 */
export class KeyedQueue {
  private readonly pending = new Set<string>();
  private readonly active = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly order: string[] = [];
  private running = 0;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly work: (key: string) => Promise<void>,
    private readonly concurrency = 4,
    private readonly onError: (key: string, err: unknown) => void = () => undefined,
  ) {}

  /** Keys waiting or being worked on. */
  get depth(): number {
    return this.pending.size + this.active.size;
  }

  add(key: string): void {
    if (this.stopped) return;
    if (this.active.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (!this.pending.has(key)) {
      this.pending.add(key);
      this.order.push(key);
    }
    this.pump();
  }

  /** Adds `key` after `ms`, unless it is already due earlier. */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    const at = Date.now() + ms;
    const cur = this.timers.get(key);
    if (cur !== undefined && cur.at <= at) return;
    if (cur !== undefined) clearTimeout(cur.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /** Stops taking work and resolves once the work in progress is done. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t.timer);
    this.timers.clear();
    this.pending.clear();
    this.order.length = 0;
    await this.idle();
  }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    if (this.running === 0 && this.pending.size === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private pump(): void {
    while (this.running < this.concurrency && !this.stopped) {
      const key = this.order.shift();
      if (key === undefined) break;
      this.pending.delete(key);
      this.active.add(key);
      this.running++;
      void this.run(key);
    }
  }

  private async run(key: string): Promise<void> {
    try {
      await this.work(key);
    } catch (err: unknown) {
      this.onError(key, err);
    } finally {
      this.active.delete(key);
      this.running--;
      if (this.dirty.delete(key)) this.add(key);
      this.pump();
      if (this.running === 0 && this.pending.size === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
  }
}

/** Exponential backoff per key: 1 s, 2 s, 4 s … capped; reset on success. */
export class Backoff {
  private readonly failures = new Map<string, number>();

  constructor(
    private readonly baseMs = 1000,
    private readonly maxMs = 300_000,
  ) {}

  next(key: string): number {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    return Math.min(this.maxMs, this.baseMs * 2 ** (n - 1));
  }

  reset(key: string): void {
    this.failures.delete(key);
  }
}
