import {
  afterPage,
  nextPageQuery,
  parseRfc3339Us,
  restartWalk,
  validateStixObject,
  type FeedClaim,
  type FeedPagingSettings,
  type FeedPosition,
  type FeedStep,
  type FeedStore,
  type FeedTurnOutcome,
  type StixRecord,
} from '@taxiway/domain';
import { backoff, type BackoffSettings } from './backoff';
import type { UpstreamAnswer, UpstreamFailure } from './upstream-client';

/** The upstream calls a turn makes (Taxii21Upstream; a fake in specs). */
export interface UpstreamPort {
  getObjects(query: {
    readonly added_after?: string;
    readonly next?: string;
    readonly limit: number;
    readonly matchType?: readonly string[];
  }): Promise<UpstreamAnswer>;
  close(): Promise<void>;
}

export interface FeedPullerSettings {
  /** How long a lease lasts; renewed before every page. */
  readonly leaseMs: number;
  /** How often due feeds are looked for. */
  readonly scanIntervalMs: number;
  /** Turns run at once on this replica. */
  readonly concurrency: number;
  /** The largest page size doubling may reach (ADR 0016). */
  readonly maxLimit: number;
  readonly backoff: BackoffSettings;
  readonly random?: () => number;
}

export interface FeedPullerDeps {
  readonly store: FeedStore;
  /** An upstream client for the claimed feed (its source, its credentials opened from the claim). */
  readonly upstream: (claim: FeedClaim) => UpstreamPort;
  readonly settings: FeedPullerSettings;
  readonly log: { info(o: object, msg: string): void; warn(o: object, msg: string): void };
}

const STIX21 = ['application/stix+json;version=2.1'];

/** How a turn ended, for the log and the specs. */
export type TurnEnd = FeedTurnOutcome | { readonly lost: true } | { readonly stopped: true };

/**
 * Pulls due feeds (ADR 0016, ADR 0017): leases a feed, pages its upstream by the paging rules,
 * stores each page with the position it reaches in one transaction, and ends the turn by its
 * outcome. A page is stored only while the lease holds; a lost lease ends the turn at once, and
 * what another puller does from the last committed position loses and repeats nothing.
 */
export class FeedPuller {
  private timer: NodeJS.Timeout | undefined;
  private readonly running = new Set<Promise<TurnEnd>>();
  private stopping = false;

  constructor(private readonly deps: FeedPullerDeps) {}

  start(): void {
    this.timer = setInterval(() => void this.scan(), this.deps.settings.scanIntervalMs);
    this.timer.unref();
  }

  /** Stops scanning; turns in progress stop before their next page and hand their feed back. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    await Promise.all(this.running);
  }

  /** Leases what is due (up to the free concurrency) and runs those turns. */
  async scan(): Promise<void> {
    const free = this.deps.settings.concurrency - this.running.size;
    if (this.stopping || free <= 0) return;
    let claims: FeedClaim[];
    try {
      claims = await this.deps.store.claimDue(free, this.deps.settings.leaseMs);
    } catch (err: unknown) {
      this.deps.log.warn({ err }, 'feed scan failed');
      return;
    }
    for (const c of claims) {
      const t = this.turn(c).finally(() => this.running.delete(t));
      this.running.add(t);
    }
  }

  /** One turn of a leased feed: pages until caught up, failing, stalled, stopped or the lease is lost. */
  async turn(claim: FeedClaim): Promise<TurnEnd> {
    const upstream = this.deps.upstream(claim);
    try {
      const end = await this.pages(claim, upstream);
      if ('ok' in end && !(await this.deps.store.finish(claim, end))) return { lost: true };
      if ('stopped' in end) await this.deps.store.renew(claim, 0); // hand the feed back at once
      this.deps.log.info({ feed: claim.feedPk, end }, 'feed turn ended');
      return end;
    } finally {
      await upstream.close();
    }
  }

  private async pages(claim: FeedClaim, upstream: UpstreamPort): Promise<TurnEnd> {
    const paging = pagingOf(claim, this.deps.settings.maxLimit);
    const filters = claim.spec.types === undefined ? {} : { matchType: claim.spec.types };
    let position: FeedPosition = claim.position;
    for (let page = 0; ; page++) {
      const halt = await this.halted(claim, page);
      if (halt !== undefined) return halt;
      const query = nextPageQuery(position, paging);
      const answer = await upstream.getObjects({ ...query, ...filters });
      if (!answer.ok) {
        // A refused `next` (expired, unknown): the walk restarts from the mark, which loses nothing.
        if (answer.kind !== 'cursor' || query.next === undefined) return this.failed(claim, answer);
        position = restartWalk(position, paging);
        continue;
      }
      const step = afterPage(position, query, answer.page, paging);
      const stored = await this.deps.store.storePage(claim, { valid: records(answer.objects), invalid: answer.invalid.length, position: step.position });
      if (stored === undefined) return { lost: true };
      position = step.position;
      const end = this.endOf(claim, step);
      if (end !== undefined) return end;
    }
  }

  /** Before a page: stop when the puller stops, or when renewing the lease (from the second page on) fails. */
  private async halted(claim: FeedClaim, page: number): Promise<TurnEnd | undefined> {
    if (this.stopping) return { stopped: true };
    if (page > 0 && !(await this.deps.store.renew(claim, this.deps.settings.leaseMs))) return { lost: true };
    return undefined;
  }

  /** The turn's end after a stored page, if it ends there: stalled, or caught up until the next interval. */
  private endOf(claim: FeedClaim, step: FeedStep): FeedTurnOutcome | undefined {
    if (step.stalled !== undefined) return { ok: false, state: 'stalled', error: step.stalled, retryInMs: this.intervalMs(claim) };
    if (step.caughtUp) return { ok: true, nextPollInMs: this.intervalMs(claim) };
    return undefined;
  }

  /**
   * A failed request: refused credentials or a refused request wait for the next interval (no
   * tight loop), a throttle waits what the upstream asked, anything else backs off (full jitter),
   * never past the interval.
   */
  private async failed(claim: FeedClaim, f: UpstreamFailure): Promise<FeedTurnOutcome> {
    const interval = this.intervalMs(claim);
    const error = f.status === undefined ? f.message : `${f.status}: ${f.message}`;
    if (f.kind === 'auth' || f.kind === 'refused' || f.kind === 'cursor') return { ok: false, state: 'degraded', error, retryInMs: interval };
    if (f.kind === 'throttled') return { ok: false, state: 'degraded', error, retryInMs: f.retryAfterMs ?? interval };
    const failures = (await this.deps.store.progress(claim.feedPk))?.failures ?? 0;
    return { ok: false, state: 'degraded', error, retryInMs: Math.min(interval, backoff(failures, this.deps.settings.backoff, this.deps.settings.random)) };
  }

  /** The feed's interval plus its random jitter. */
  private intervalMs(claim: FeedClaim): number {
    const random = this.deps.settings.random ?? Math.random;
    return Math.round((claim.spec.intervalSeconds + claim.spec.jitterSeconds * random()) * 1000);
  }
}

/** The paging rules' settings for a feed (ADR 0016). */
function pagingOf(claim: FeedClaim, maxLimit: number): FeedPagingSettings {
  const { spec } = claim;
  const startUs = spec.startAddedAfter === undefined ? undefined : parseRfc3339Us(spec.startAddedAfter);
  return { limit: spec.pageSize, maxLimit: Math.max(spec.pageSize, maxLimit), ...(startUs !== undefined && { startUs }) };
}

/** The upstream's objects as records whose raw text is exactly what it sent (validated again by the domain's rules). */
function records(texts: readonly string[]): StixRecord[] {
  const out: StixRecord[] = [];
  for (const text of texts) {
    const v = validateStixObject(JSON.parse(text) as unknown, STIX21);
    if (v.ok) out.push({ ...v.record, raw: text });
  }
  return out;
}
