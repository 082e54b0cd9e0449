import { randomUUID } from 'node:crypto';
import type { FeedClaim, FeedPage, FeedPageResult, FeedProgress, FeedSpec, FeedStore, FeedTurnOutcome } from '@taxiway/domain';
import type { MemoryObjectStore } from './memory-object-store';

interface MemoryFeed {
  readonly pk: number;
  readonly collectionPk: number;
  readonly spec: FeedSpec;
  readonly authSealed: string | undefined;
  suspended: boolean;
  progress: FeedProgress;
  nextPollAtMs: number;
  leaseUntilMs: number | undefined;
  claim: string | undefined;
}

const DEFAULT_SPEC: FeedSpec = {
  source: { kind: 'taxii21', collectionUrl: 'https://upstream.example/api/collections/c/' },
  pageSize: 1000,
  intervalSeconds: 300,
  jitterSeconds: 0,
};

/**
 * The FeedStore port in memory (the reference model of feed-store-contract.ts, which SqlFeedStore
 * passes too): leases with claim tokens, pages stored through a MemoryObjectStore (so duplicates
 * and conflicts are judged as the object store judges them), counters and outcomes.
 */
export class MemoryFeedStore implements FeedStore {
  private readonly feeds = new Map<number, MemoryFeed>();
  private nextPk = 1;

  constructor(
    private readonly objects: MemoryObjectStore,
    private readonly now: () => number = Date.now,
  ) {}

  /** A feed into `collectionPk` (of the object store), due at once unless suspended. */
  createFeed(collectionPk: number, opts: { readonly suspended?: boolean; readonly spec?: FeedSpec; readonly authSealed?: string } = {}): number {
    const pk = this.nextPk++;
    this.feeds.set(pk, {
      pk,
      collectionPk,
      spec: opts.spec ?? DEFAULT_SPEC,
      authSealed: opts.authSealed,
      suspended: opts.suspended === true,
      nextPollAtMs: this.now(),
      leaseUntilMs: undefined,
      claim: undefined,
      progress: {
        feedPk: pk,
        state: 'ok',
        position: {},
        objectsMirrored: 0,
        invalidSkipped: 0,
        conflicts: 0,
        lastSuccessMs: undefined,
        lastError: undefined,
        failures: 0,
      },
    });
    return pk;
  }

  async claimDue(limit: number, leaseMs: number): Promise<FeedClaim[]> {
    await Promise.resolve();
    const now = this.now();
    const due = [...this.feeds.values()]
      .filter((f) => !f.suspended && f.nextPollAtMs <= now && (f.leaseUntilMs === undefined || f.leaseUntilMs < now))
      .sort((a, b) => a.nextPollAtMs - b.nextPollAtMs)
      .slice(0, limit);
    const claim = randomUUID();
    return due.map((f) => {
      f.claim = claim;
      f.leaseUntilMs = now + leaseMs;
      return { feedPk: f.pk, claim, collectionPk: f.collectionPk, spec: f.spec, authSealed: f.authSealed, position: f.progress.position };
    });
  }

  async renew(c: FeedClaim, leaseMs: number): Promise<boolean> {
    await Promise.resolve();
    const f = this.held(c);
    if (f === undefined) return false;
    f.leaseUntilMs = this.now() + leaseMs;
    return true;
  }

  async storePage(c: FeedClaim, page: FeedPage): Promise<FeedPageResult | undefined> {
    const f = this.held(c);
    if (f === undefined) return undefined;
    const status = await this.objects.addObjects({
      statusId: randomUUID(),
      apiRootPk: 0,
      collectionPk: f.collectionPk,
      principalPk: 0,
      requestTimestampUs: this.now() * 1000,
      valid: page.valid.map((record, index) => ({ index, record })),
      invalid: [],
    });
    const count = (reason: string): number => [...status.successes, ...status.failures].filter((d) => d.reason === reason).length;
    const result = { stored: count('stored'), duplicates: count('duplicate'), conflicts: count('conflict'), overQuota: count('quota') };
    const p = f.progress;
    f.progress = {
      ...p,
      position: page.position,
      objectsMirrored: p.objectsMirrored + result.stored,
      invalidSkipped: p.invalidSkipped + page.invalid,
      conflicts: p.conflicts + result.conflicts,
    };
    return result;
  }

  async finish(c: FeedClaim, o: FeedTurnOutcome): Promise<boolean> {
    await Promise.resolve();
    const f = this.held(c);
    if (f === undefined) return false;
    const now = this.now();
    f.leaseUntilMs = undefined;
    f.claim = undefined;
    const p = f.progress;
    if (o.ok) {
      f.nextPollAtMs = now + o.nextPollInMs;
      f.progress = { ...p, state: 'ok', failures: 0, lastSuccessMs: now };
    } else {
      f.nextPollAtMs = now + o.retryInMs;
      f.progress = { ...p, state: o.state, failures: p.failures + 1, lastError: o.error.slice(0, 500) };
    }
    return true;
  }

  progress(feedPk: number): Promise<FeedProgress | undefined> {
    return Promise.resolve(this.feeds.get(feedPk)?.progress);
  }

  /** The feed, if `c` still holds its lease. */
  private held(c: FeedClaim): MemoryFeed | undefined {
    const f = this.feeds.get(c.feedPk);
    return f !== undefined && f.claim === c.claim && f.leaseUntilMs !== undefined && f.leaseUntilMs > this.now() ? f : undefined;
  }
}
