import { describe, expect, it } from 'vitest';
import { ALL_VERSIONS, formatTaxiiTimestamp, parseRfc3339Us, type FeedSpec } from '@taxiway/domain';
import { MemoryFeedStore, MemoryObjectStore } from '@taxiway/testing';
import { FeedPuller, type UpstreamPort } from './feed-puller';
import type { UpstreamAnswer, UpstreamFailure } from './upstream-client';

const BASE = Date.UTC(2026, 0, 1) * 1000;
const SPEC: FeedSpec = {
  source: { kind: 'taxii21', collectionUrl: 'https://isac.example/api1/collections/c/' },
  pageSize: 4,
  intervalSeconds: 600,
  jitterSeconds: 0,
};

/** An indicator's JSON as an upstream might write it: its own spacing and key order, kept byte for byte. */
const text = (n: number): string =>
  `{ "type":"indicator",  "id":"indicator--${String(n).padStart(8, '0')}-0000-4000-8000-000000000000", "spec_version":"2.1",` +
  `"created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","pattern":"[ipv4-addr:value = '198.51.100.${n % 250}']",` +
  `"pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z" }`;

/** Our own UpstreamPort, behaving as an upstream with exclusive added_after and next tokens; failures can be queued. */
class FakeUpstream implements UpstreamPort {
  readonly objects: { text: string; us: number }[] = [];
  readonly queries: { added_after?: string; next?: string; limit: number }[] = [];
  readonly failures: UpstreamFailure[] = [];
  private readonly walks = new Map<string, number>();
  invalidEvery = 0;
  closed = 0;

  add(n: number, us: number): void {
    this.objects.push({ text: text(n), us });
  }

  getObjects(q: { added_after?: string; next?: string; limit: number }): Promise<UpstreamAnswer> {
    this.queries.push(q);
    const failure = this.failures.shift();
    if (failure !== undefined) return Promise.resolve(failure);
    let start = q.next === undefined ? undefined : this.walks.get(q.next);
    if (q.next !== undefined && start === undefined) return Promise.resolve({ ok: false, kind: 'cursor', status: 404, message: 'unknown next' });
    if (start === undefined) {
      const after = q.added_after === undefined ? -Infinity : (parseRfc3339Us(q.added_after) ?? -Infinity);
      start = this.objects.findIndex((o) => o.us > after);
      if (start === -1) start = this.objects.length;
    }
    const page = this.objects.slice(start, start + q.limit);
    const more = start + page.length < this.objects.length;
    const next = more ? `n${this.walks.size + 1}` : undefined;
    if (next !== undefined) this.walks.set(next, start + page.length);
    const invalid = page.filter((_, i) => this.invalidEvery > 0 && (start + i) % this.invalidEvery === 0);
    const valid = page.filter((o) => !invalid.includes(o));
    return Promise.resolve({
      ok: true,
      page: { count: page.length, more, ...(next !== undefined && { next }), ...(page.length > 0 && { dateAddedLast: formatTaxiiTimestamp(page.at(-1)!.us) }) },
      objects: valid.map((o) => o.text),
      invalid: invalid.map((_, i) => ({ index: i, message: 'not STIX' })),
    });
  }

  expireTokens(): void {
    this.walks.clear();
  }

  close(): Promise<void> {
    this.closed++;
    return Promise.resolve();
  }
}

function setup(opts: { spec?: FeedSpec; leaseMs?: number } = {}) {
  const objects = new MemoryObjectStore();
  const store = new MemoryFeedStore(objects);
  const collectionPk = objects.createCollection();
  const feedPk = store.createFeed(collectionPk, { spec: opts.spec ?? SPEC });
  const upstream = new FakeUpstream();
  const logs: object[] = [];
  const puller = new FeedPuller({
    store,
    upstream: () => upstream,
    settings: {
      leaseMs: opts.leaseMs ?? 60_000,
      scanIntervalMs: 10,
      concurrency: 2,
      maxLimit: 64,
      backoff: { baseMs: 1000, maxMs: 60_000 },
      random: () => 0.5,
    },
    log: { info: (o) => logs.push(o), warn: (o) => logs.push(o) },
  });
  const held = async () => {
    const page = await objects.page({ collectionPk, filter: {}, defaultVersions: ALL_VERSIONS, limit: 10_000, shape: 'objects' });
    return page.rows;
  };
  const claimOne = async () => (await store.claimDue(1, opts.leaseMs ?? 60_000))[0]!;
  return { objects, store, collectionPk, feedPk, upstream, puller, held, claimOne, logs };
}

describe('FeedPuller', () => {
  it('pulls every upstream object once, byte for byte, then waits for its interval', async () => {
    const s = setup();
    for (let i = 0; i < 11; i++) s.upstream.add(i, BASE + Math.floor(i / 3));
    const end = await s.puller.turn(await s.claimOne());
    expect(end).toEqual({ ok: true, nextPollInMs: 600_000 });
    const rows = await s.held();
    expect(rows.map((r) => r.raw).sort()).toEqual(s.upstream.objects.map((o) => o.text).sort());
    expect(await s.store.progress(s.feedPk)).toMatchObject({ state: 'ok', objectsMirrored: 11, failures: 0 });
    expect(await s.store.claimDue(1, 1000), 'not due before its interval').toEqual([]);
    expect(s.upstream.closed).toBe(1);
  });

  it('resumes after a lost lease from the last committed page: the collection holds each version once', async () => {
    const s = setup({ leaseMs: 100 });
    for (let i = 0; i < 20; i++) s.upstream.add(i, BASE + i);
    const first = await s.claimOne();
    // The first puller stalls after two pages (its upstream hangs past the lease), as a crashed one would.
    let pages = 0;
    const original = s.upstream.getObjects.bind(s.upstream);
    s.upstream.getObjects = async (q) => {
      if (++pages === 3) await new Promise((r) => setTimeout(r, 200));
      return original(q);
    };
    const secondTurn = (async () => {
      await new Promise((r) => setTimeout(r, 150));
      s.upstream.getObjects = original;
      return s.puller.turn(await s.claimOne());
    })();
    const firstEnd = await s.puller.turn(first);
    expect(firstEnd).toEqual({ lost: true });
    expect(((await secondTurn) as { ok: boolean }).ok).toBe(true);
    const rows = await s.held();
    expect(rows).toHaveLength(20);
    expect(new Set(rows.map((r) => r.id)).size).toBe(20);
  });

  it('restarts from the mark when the upstream refuses an expired next, and loses nothing', async () => {
    const s = setup();
    for (let i = 0; i < 10; i++) s.upstream.add(i, BASE + i);
    const original = s.upstream.getObjects.bind(s.upstream);
    let calls = 0;
    s.upstream.getObjects = (q) => {
      if (++calls === 2) s.upstream.expireTokens();
      return original(q);
    };
    expect((await s.puller.turn(await s.claimOne())) as { ok: boolean }).toMatchObject({ ok: true });
    expect(await s.held()).toHaveLength(10);
    expect(s.upstream.queries.filter((q) => q.next === undefined).length).toBeGreaterThanOrEqual(2);
  });

  it('counts invalid upstream objects and stores the rest', async () => {
    const s = setup();
    s.upstream.invalidEvery = 3;
    for (let i = 0; i < 9; i++) s.upstream.add(i, BASE + i);
    await s.puller.turn(await s.claimOne());
    expect(await s.held()).toHaveLength(6);
    expect(await s.store.progress(s.feedPk)).toMatchObject({ invalidSkipped: 3, objectsMirrored: 6 });
  });

  it('goes Degraded on refused credentials and tries again only after its interval, not in a loop', async () => {
    const s = setup();
    s.upstream.add(1, BASE);
    s.upstream.failures.push({ ok: false, kind: 'auth', status: 401, message: 'https://isac.example/api1/collections/c/objects/ answered 401' });
    const end = await s.puller.turn(await s.claimOne());
    expect(end).toEqual({ ok: false, state: 'degraded', error: '401: https://isac.example/api1/collections/c/objects/ answered 401', retryInMs: 600_000 });
    expect(s.upstream.queries).toHaveLength(1);
    expect(await s.store.progress(s.feedPk)).toMatchObject({ state: 'degraded', failures: 1 });
  });

  it('waits what a 429 asks, and backs off (never past the interval) on a server error', async () => {
    const s = setup();
    s.upstream.failures.push({ ok: false, kind: 'throttled', status: 429, retryAfterMs: 30_000, message: 'slow down' });
    expect(await s.puller.turn(await s.claimOne())).toMatchObject({ state: 'degraded', retryInMs: 30_000 });
    const t = setup();
    t.upstream.failures.push({ ok: false, kind: 'transient', status: 503, message: 'down' });
    const end = (await t.puller.turn(await t.claimOne())) as { retryInMs: number };
    expect(end.retryInMs).toBe(500); // full jitter at 0.5 of 1000 ms, the first retry
  });

  it('stops between pages when the puller stops, and hands the feed back at once', async () => {
    const s = setup();
    for (let i = 0; i < 12; i++) s.upstream.add(i, BASE + i);
    const original = s.upstream.getObjects.bind(s.upstream);
    let stopping: Promise<void> | undefined;
    s.upstream.getObjects = (q) => {
      stopping ??= s.puller.stop();
      return original(q);
    };
    expect(await s.puller.turn(await s.claimOne())).toEqual({ stopped: true });
    await stopping;
    await new Promise((r) => setTimeout(r, 5));
    expect((await s.store.claimDue(1, 1000)).map((c) => c.feedPk)).toEqual([s.feedPk]);
    expect((await s.store.progress(s.feedPk))?.objectsMirrored).toBe(4);
  });

  it('asks the upstream for the feed’s types and from its start', async () => {
    const s = setup({ spec: { ...SPEC, types: ['indicator'], startAddedAfter: '2026-01-01T00:00:00Z' } });
    await s.puller.turn(await s.claimOne());
    expect(s.upstream.queries[0]).toEqual({ added_after: '2026-01-01T00:00:00.000000Z', limit: 4, matchType: ['indicator'] });
  });
});
