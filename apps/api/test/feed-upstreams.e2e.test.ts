import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sealer } from '@taxiway/auth';
import type { FeedClaim, FeedSpec } from '@taxiway/domain';
import { Database, SqlCatalogStore, SqlFeedStore } from '@taxiway/store';
import { minimalIndicator, startMedallion, startOpenTaxii, type Medallion, type OpenTaxii, type StixObject } from '@taxiway/testing';
import { freshDatabase } from '../../../test/support/db';
import { FeedPuller, type TurnEnd, type UpstreamPort } from '../src/feeds/feed-puller';
import { Taxii21Upstream, type UpstreamCredentials } from '../src/feeds/upstream-client';

// Depth: real upstream servers from PyPI (OpenTAXII 0.9.3 on sqlite, medallion 3.0.0), the puller,
// the upstream client and SqlFeedStore on PostgreSQL: issue 14 points 2, 3 and 6 (fault tests).

const sealer = new Sealer([randomBytes(32)]);

/** A hub database with one collection per feed, and feeds inserted as the apply will. */
class Hub {
  private constructor(
    readonly db: Database,
    readonly feeds: SqlFeedStore,
    private readonly rootPk: number,
    private readonly catalog: SqlCatalogStore,
  ) {}

  static async open(): Promise<Hub> {
    const db = await Database.open({ url: await freshDatabase('feedfaults'), poolSize: 4 });
    const catalog = new SqlCatalogStore(db);
    await catalog.applyDesiredState(hubState([]), { prune: true });
    return new Hub(db, new SqlFeedStore(db), (await catalog.loadCatalog()).roots[0]!.pk, catalog);
  }

  private names: string[] = [];

  async addFeed(spec: FeedSpec, credentials: UpstreamCredentials): Promise<{ feedPk: number; collectionPk: number }> {
    const name = `m${this.names.length + 1}`;
    this.names.push(name);
    await this.catalog.applyDesiredState(hubState(this.names), { prune: true });
    const collectionPk = (await this.catalog.loadCatalog()).collections.find((c) => c.name === name)!.pk;
    const rows: { pk: number }[] = await this.db.dataSource.query(
      `INSERT INTO feeds (api_root_pk, name, collection_pk, spec) VALUES ($1, $2, $3, $4::jsonb) RETURNING pk`,
      [this.rootPk, name, collectionPk, JSON.stringify(spec)],
    );
    const feedPk = rows[0]!.pk;
    await this.setCredentials(feedPk, credentials);
    return { feedPk, collectionPk };
  }

  async setCredentials(feedPk: number, c: UpstreamCredentials): Promise<void> {
    await this.db.dataSource.query(`UPDATE feeds SET auth_sealed = $2 WHERE pk = $1`, [feedPk, sealer.seal(JSON.stringify(c), `feed:${feedPk}`)]);
  }

  /** `id@modified` of every version the collection holds (duplicates would show twice). */
  async versions(collectionPk: number): Promise<string[]> {
    const rows: { v: string }[] = await this.db.dataSource.query(`SELECT stix_id || '@' || version AS v FROM objects WHERE collection_pk = $1`, [collectionPk]);
    return rows.map((r) => r.v).sort();
  }

  /** A turn of this feed, once it is due (polls for the claim up to `waitMs`). */
  async turn(feedPk: number, puller: FeedPuller, waitMs = 5000): Promise<TurnEnd> {
    const until = Date.now() + waitMs;
    for (;;) {
      const claims = await this.feeds.claimDue(10, 30_000);
      for (const c of claims) if (c.feedPk !== feedPk) await this.feeds.renew(c, 0);
      const mine = claims.find((c) => c.feedPk === feedPk);
      if (mine !== undefined) return puller.turn(mine);
      if (Date.now() > until) throw new Error(`feed ${feedPk} did not become due`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

function hubState(names: readonly string[]) {
  return {
    apiRoots: [{ name: 'hub', path: 'hub', title: 'Hub', description: undefined, maxContentLength: 10_000_000, deletionPolicy: 'Retain' as const, grants: [] }],
    collections: names.map((name) => ({
      name,
      apiRoot: 'hub',
      id: undefined,
      alias: undefined,
      title: name,
      description: undefined,
      mediaTypes: ['application/stix+json;version=2.1'],
      deletionPolicy: 'Delete' as const,
      grants: [],
    })),
    principals: [],
  };
}

/** A puller whose upstream client is the real one; `beforePage` runs before each request (fault injection). */
function puller(hub: Hub, beforePage?: (page: number) => Promise<void>): FeedPuller {
  let page = 0;
  return new FeedPuller({
    store: hub.feeds,
    upstream: (c: FeedClaim): UpstreamPort => {
      const credentials = JSON.parse(sealer.open(c.authSealed!, `feed:${c.feedPk}`)!) as UpstreamCredentials;
      const client = new Taxii21Upstream(c.spec.source.collectionUrl, { policy: { allowedHosts: [], allowPrivate: true }, credentials });
      return {
        getObjects: async (q) => {
          await beforePage?.(++page);
          return client.getObjects(q);
        },
        close: () => client.close(),
      };
    },
    settings: { leaseMs: 30_000, scanIntervalMs: 60_000, concurrency: 1, maxLimit: 1000, backoff: { baseMs: 10, maxMs: 50 } },
    log: { info: () => undefined, warn: () => undefined },
  });
}

const spec = (collectionUrl: string, pageSize: number): FeedSpec => ({
  source: { kind: 'taxii21', collectionUrl },
  pageSize,
  intervalSeconds: 0,
  jitterSeconds: 0,
});
const ind = (n: number, modified = '2024-01-01T00:00:00.000Z') =>
  minimalIndicator(`indicator--${String(n).padStart(8, '0')}-0000-4000-8000-${randomUUID().slice(-12)}`, modified);

describe('feeds against real upstream servers (issue 14)', () => {
  let hub: Hub;
  beforeAll(async () => {
    hub = await Hub.open();
  }, 60_000);
  afterAll(async () => {
    await hub?.db.close();
  });

  describe('OpenTAXII 0.9.3 (TAXII 2.1, sqlite)', () => {
    let o: OpenTaxii;
    let upstreamVersions: string[];

    beforeAll(async () => {
      o = await startOpenTaxii({ taxii2Collections: ['upstream'] });
      const url = `${o.taxii2!.collectionUrl('upstream')}objects/`;
      const post = async (objects: unknown[]) => {
        const r = await fetch(url, {
          method: 'POST',
          headers: { authorization: o.authorization, accept: 'application/taxii+json;version=2.1', 'content-type': 'application/taxii+json;version=2.1' },
          body: JSON.stringify({ objects }),
        });
        expect(r.status).toBe(202);
      };
      const objects = Array.from({ length: 45 }, (_, i) => ind(i));
      for (let i = 0; i < objects.length; i += 9) await post(objects.slice(i, i + 9));
      // Later versions of some objects: the mirror must hold every version, not only the latest.
      await post(objects.slice(0, 5).map((x) => ({ ...x, modified: '2024-06-01T00:00:00.000Z' })));
      upstreamVersions = [
        ...objects.map((x) => `${x['id'] as string}@2024-01-01T00:00:00.000Z`),
        ...objects.slice(0, 5).map((x) => `${x['id'] as string}@2024-06-01T00:00:00.000Z`),
      ].sort();
    }, 120_000);
    afterAll(async () => {
      await o?.stop();
    });

    it('skips every object OpenTAXII serves as invalid STIX (its spec_version is the object type), counts them, and still walks to the end', async () => {
      const { feedPk, collectionPk } = await hub.addFeed(spec(o.taxii2!.collectionUrl('upstream'), 7), { basic: { username: o.user, password: o.password } });
      expect(await hub.turn(feedPk, puller(hub))).toMatchObject({ ok: true });
      expect(await hub.versions(collectionPk)).toEqual([]);
      const p = await hub.feeds.progress(feedPk);
      expect(p?.invalidSkipped).toBeGreaterThanOrEqual(upstreamVersions.length);
      expect(p?.position.markUs).toBeDefined();
      // Caught up: the next turn is one request, re-reading only the boundary.
      let requests = 0;
      expect(
        await hub.turn(
          feedPk,
          puller(hub, () => Promise.resolve(void requests++)),
        ),
      ).toMatchObject({ ok: true });
      expect(requests).toBe(1);
    });

    it('after the upstream is killed (-9) mid-walk, the turn fails as transient; after its restart the next turn resumes from the mark and ends', async () => {
      const { feedPk } = await hub.addFeed(spec(o.taxii2!.collectionUrl('upstream'), 7), { basic: { username: o.user, password: o.password } });
      const killing = puller(hub, async (page) => {
        if (page === 4) await o.kill9();
      });
      const failed = (await hub.turn(feedPk, killing)) as { ok: boolean; state: string; error: string; retryInMs: number };
      expect(failed).toMatchObject({ ok: false, state: 'degraded' });
      expect(failed.error).toMatch(/ECONNREFUSED/);
      expect(failed.retryInMs).toBeLessThanOrEqual(50);
      const mark = (await hub.feeds.progress(feedPk))?.position.markUs;
      expect(mark).toBeDefined();
      await o.restart();
      const resumed = puller(hub);
      const end = await hub.turn(feedPk, resumed);
      expect(end).toMatchObject({ ok: true });
      const after = await hub.feeds.progress(feedPk);
      expect(after?.position.markUs).toBeGreaterThan(mark!);
      expect(after).toMatchObject({ state: 'ok', failures: 0 });
    });

    it('goes Degraded on a 401 without retrying in a loop, and recovers when the credentials are fixed', async () => {
      const { feedPk, collectionPk } = await hub.addFeed(spec(o.taxii2!.collectionUrl('upstream'), 20), {
        basic: { username: o.user, password: 'wrong-7c1e' },
      });
      let requests = 0;
      const end = (await hub.turn(
        feedPk,
        puller(hub, () => Promise.resolve(void requests++)),
      )) as { ok: boolean; error: string; retryInMs: number };
      expect(end).toMatchObject({ ok: false, state: 'degraded' });
      expect(end.error).toMatch(/401/);
      expect(end.error).not.toContain('wrong-7c1e');
      expect(requests).toBe(1);
      await hub.setCredentials(feedPk, { basic: { username: o.user, password: o.password } });
      expect(await hub.turn(feedPk, puller(hub))).toMatchObject({ ok: true });
      expect((await hub.feeds.progress(feedPk))?.state).toBe('ok');
      expect(await hub.versions(collectionPk)).toEqual([]);
    });
  });

  describe('medallion 3.0.0 (memory backend)', () => {
    let m: Medallion;
    const seeded: string[] = [];

    beforeAll(async () => {
      // 30 objects sharing 3 instants (10 each: medallion gives one instant to a whole POST), 12 per page at most.
      const objects = Array.from({ length: 30 }, (_, i) => ({
        object: ind(100 + i) as StixObject,
        dateAdded: `2025-01-0${1 + Math.floor(i / 10)}T00:00:00.000000Z`,
      }));
      for (const s of objects) seeded.push(`${s.object['id']}@2024-01-01T00:00:00.000Z`);
      m = await startMedallion({ collections: [{ title: 'feed', objects }], maxPageSize: 12, nextTimeoutSeconds: 1, nextSweepSeconds: 1 });
    }, 120_000);
    afterAll(async () => {
      await m?.stop();
    });

    it('pages runs of objects sharing one date_added, and restarts from the mark when its next expires mid-walk: every version once', async () => {
      const { feedPk, collectionPk } = await hub.addFeed(spec(m.collectionUrl('feed'), 4), { basic: { username: m.user, password: m.password } });
      // A slow puller: medallion's next lives 1 s, so the walk's token expires between pages 2 and 3.
      const slow = puller(hub, async (page) => {
        if (page === 3) await new Promise((r) => setTimeout(r, 2500));
      });
      expect(await hub.turn(feedPk, slow)).toMatchObject({ ok: true });
      expect(await hub.versions(collectionPk)).toEqual([...seeded].sort());
    });
  });
});
