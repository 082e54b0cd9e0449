import { randomUUID } from 'node:crypto';
import { validateStixObject, type FeedClaim, type FeedSpec, type FeedStore, type StixRecord } from '@taxiway/domain';
import type { SuiteApi } from './object-store-contract';
import { minimalIndicator } from './stix';

/** A FeedStore ready for the contract: feeds into fresh collections are made on demand. */
export interface FeedStoreFixture {
  readonly store: FeedStore;
  /** A new feed into a new, empty collection; due at once unless suspended. */
  createFeed(opts?: {
    readonly suspended?: boolean;
    readonly spec?: FeedSpec;
    readonly authSealed?: string;
  }): Promise<{ feedPk: number; collectionPk: number }>;
  /** The object versions the collection holds, as `id@modified`, sorted. */
  versions(collectionPk: number): Promise<string[]>;
  close(): Promise<void>;
}

function rec(id: string, modified = '2024-01-01T00:00:00.000Z', extra: Record<string, unknown> = {}): StixRecord {
  const v = validateStixObject(minimalIndicator(id, modified, extra), ['application/stix+json']);
  if (!v.ok) throw new Error(v.message);
  return v.record;
}

const uid = (): string => `indicator--${randomUUID()}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const LEASE_MS = 60_000;
const SPEC: FeedSpec = {
  source: { kind: 'taxii21', collectionUrl: 'https://isac.example/api1/collections/91a7b528-80eb-42ed-a74d-c6fbd5a26116/' },
  pageSize: 500,
  intervalSeconds: 600,
  jitterSeconds: 30,
  startAddedAfter: '2026-01-01T00:00:00Z',
  types: ['indicator', 'malware'],
};

/**
 * What every FeedStore does (ADR 0017): one holder per feed, pages and positions committed
 * together and only by the holder, turns scheduled by their outcome. Runs over the memory fake
 * (unit tier) and over PostgreSQL and PGlite (libs/store/test).
 */
export function feedStoreContract(t: SuiteApi, name: string, open: () => Promise<FeedStoreFixture>): void {
  const { describe, it, expect, beforeAll, afterAll } = t;
  describe(`FeedStore contract (${name})`, () => {
    let f: FeedStoreFixture;
    beforeAll(async () => {
      f = await open();
    });
    afterAll(async () => {
      await f?.close();
    });

    /** Claims until the feed is among the claimed (other tests' feeds may be due too). */
    async function claim(feedPk: number, leaseMs = LEASE_MS): Promise<FeedClaim | undefined> {
      const claims = await f.store.claimDue(1000, leaseMs);
      for (const c of claims) if (c.feedPk !== feedPk) await f.store.finish(c, { ok: true, nextPollInMs: 3_600_000 });
      return claims.find((c) => c.feedPk === feedPk);
    }

    it('leases a due feed to one claimer at a time, even when two claim at once', async () => {
      const { feedPk } = await f.createFeed();
      const [a, b] = await Promise.all([f.store.claimDue(1000, LEASE_MS), f.store.claimDue(1000, LEASE_MS)]);
      const holders = [...a, ...b].filter((c) => c.feedPk === feedPk);
      expect(holders).toHaveLength(1);
      expect(await claim(feedPk)).toBeUndefined();
      for (const c of [...a, ...b]) await f.store.finish(c, { ok: true, nextPollInMs: 3_600_000 });
    });

    it('hands the holder the feed’s spec and sealed credentials with the lease', async () => {
      const { feedPk } = await f.createFeed({ spec: SPEC, authSealed: 'v1.k.iv.body.tag' });
      const c = (await claim(feedPk))!;
      expect(c.spec).toEqual(SPEC);
      expect(c.authSealed).toBe('v1.k.iv.body.tag');
      await f.store.finish(c, { ok: true, nextPollInMs: 3_600_000 });
    });

    it('does not lease a suspended feed', async () => {
      const { feedPk } = await f.createFeed({ suspended: true });
      expect(await claim(feedPk)).toBeUndefined();
    });

    it('stores a page and moves the position together; a page stored again is duplicates, not new versions', async () => {
      const { feedPk, collectionPk } = await f.createFeed();
      const c = (await claim(feedPk))!;
      expect(c.position).toEqual({});
      const ids = [uid(), uid(), uid()];
      const page = { valid: ids.map((id) => rec(id)), invalid: 2, position: { markUs: 1_700_000_000_000_000, markDigits: 6 } };
      expect(await f.store.storePage(c, page)).toEqual({ stored: 3, duplicates: 0, conflicts: 0, overQuota: 0 });
      expect(await f.store.storePage(c, { ...page, invalid: 0 })).toEqual({ stored: 0, duplicates: 3, conflicts: 0, overQuota: 0 });
      expect(await f.versions(collectionPk)).toEqual(ids.map((id) => `${id}@2024-01-01T00:00:00.000Z`).sort());
      const p = await f.store.progress(feedPk);
      expect(p).toMatchObject({ objectsMirrored: 3, invalidSkipped: 2, conflicts: 0, position: page.position });
    });

    it('counts different content for a version it holds as a conflict and keeps the first', async () => {
      const { feedPk, collectionPk } = await f.createFeed();
      const c = (await claim(feedPk))!;
      const id = uid();
      await f.store.storePage(c, { valid: [rec(id)], invalid: 0, position: { markUs: 1 } });
      const r = await f.store.storePage(c, { valid: [rec(id, undefined, { name: 'other' })], invalid: 0, position: { markUs: 2 } });
      expect(r).toEqual({ stored: 0, duplicates: 0, conflicts: 1, overQuota: 0 });
      expect(await f.versions(collectionPk)).toEqual([`${id}@2024-01-01T00:00:00.000Z`]);
      expect((await f.store.progress(feedPk))?.conflicts).toBe(1);
    });

    it('resumes after a puller vanished mid-turn from the last committed page, not before it and not after', async () => {
      const { feedPk } = await f.createFeed();
      const first = (await claim(feedPk, 300))!;
      await f.store.storePage(first, { valid: [rec(uid())], invalid: 0, position: { markUs: 42, markDigits: 3 } });
      // The puller dies here: no finish. Its lease runs out and another puller takes the feed.
      await sleep(400);
      const second = (await claim(feedPk))!;
      expect(second.claim).not.toBe(first.claim);
      expect(second.position).toEqual({ markUs: 42, markDigits: 3 });
      await f.store.finish(second, { ok: true, nextPollInMs: 3_600_000 });
    });

    it('lets a puller whose lease ran out store nothing, move nothing and end nothing', async () => {
      const { feedPk, collectionPk } = await f.createFeed();
      const stale = (await claim(feedPk, 200))!;
      await sleep(300);
      const fresh = (await claim(feedPk))!;
      expect(await f.store.storePage(stale, { valid: [rec(uid())], invalid: 0, position: { markUs: 99 } })).toBeUndefined();
      expect(await f.store.renew(stale, LEASE_MS)).toBe(false);
      expect(await f.store.finish(stale, { ok: true, nextPollInMs: 0 })).toBe(false);
      expect(await f.versions(collectionPk)).toEqual([]);
      expect((await f.store.progress(feedPk))?.position).toEqual({});
      expect(await f.store.renew(fresh, LEASE_MS)).toBe(true);
      expect(await f.store.finish(fresh, { ok: true, nextPollInMs: 3_600_000 })).toBe(true);
    });

    it('keeps a renewed lease past its first end', async () => {
      const { feedPk } = await f.createFeed();
      const c = (await claim(feedPk, 300))!;
      await sleep(150);
      expect(await f.store.renew(c, 1000)).toBe(true);
      await sleep(250);
      expect(await f.store.storePage(c, { valid: [], invalid: 0, position: { markUs: 7 } })).toEqual({ stored: 0, duplicates: 0, conflicts: 0, overQuota: 0 });
      expect(await f.store.finish(c, { ok: true, nextPollInMs: 3_600_000 })).toBe(true);
    });

    it('schedules the next turn by the outcome: success resets failures, failure counts them and keeps the error', async () => {
      const { feedPk } = await f.createFeed();
      const c1 = (await claim(feedPk))!;
      expect(await f.store.finish(c1, { ok: false, state: 'degraded', error: 'upstream answered 401', retryInMs: 0 })).toBe(true);
      expect(await f.store.progress(feedPk)).toMatchObject({ state: 'degraded', failures: 1, lastError: 'upstream answered 401' });
      const c2 = (await claim(feedPk))!;
      expect(c2).toBeDefined();
      await f.store.finish(c2, { ok: false, state: 'stalled', error: 'x'.repeat(2000), retryInMs: 0 });
      const p2 = await f.store.progress(feedPk);
      expect(p2).toMatchObject({ state: 'stalled', failures: 2 });
      expect(p2?.lastError?.length).toBe(500);
      const c3 = (await claim(feedPk))!;
      await f.store.finish(c3, { ok: true, nextPollInMs: 3_600_000 });
      const p3 = await f.store.progress(feedPk);
      expect(p3).toMatchObject({ state: 'ok', failures: 0 });
      expect(p3?.lastSuccessMs).toBeGreaterThan(Date.now() - 60_000);
      expect(await claim(feedPk), 'not due for an hour').toBeUndefined();
    });
  });
}
