import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sealer } from '@taxiway/auth';
import type { FeedClaim, FeedSpec } from '@taxiway/domain';
import { Database, SqlCatalogStore, SqlFeedStore } from '@taxiway/store';
import { freshDatabase } from '../../../test/support/db';
import { basic, client, startServer, type RunningServer } from '../../../test/support/server';
import { FeedPuller, type UpstreamPort } from '../src/feeds/feed-puller';
import { Taxii21Upstream, type UpstreamCredentials } from '../src/feeds/upstream-client';
import { indicator, RW, STATE } from './fixture';

// Depth: a real Taxiway as the upstream (HTTP, its own PostgreSQL database), the puller, the upstream
// client and SqlFeedStore on a second database: issue 14 point 2 (exactly once, durably).

const sealer = new Sealer([randomBytes(32)]);
const TARGET = {
  apiRoots: [{ name: 'hub', path: 'hub', title: 'Hub', description: undefined, maxContentLength: 10_000_000, deletionPolicy: 'Retain' as const, grants: [] }],
  collections: [
    {
      name: 'mirror',
      apiRoot: 'hub',
      id: randomUUID(),
      alias: undefined,
      title: 'Mirror',
      description: undefined,
      mediaTypes: ['application/stix+json;version=2.1'],
      deletionPolicy: 'Delete' as const,
      grants: [],
    },
  ],
  principals: [],
};

describe('a feed mirrors a real Taxiway upstream exactly once (issue 14)', () => {
  let upstream: RunningServer;
  let target: Database;
  let feeds: SqlFeedStore;
  let feedPk: number;
  let posted = 0;

  const alice = () => client(upstream.url, basic('alice'));
  async function post(n: number): Promise<void> {
    for (let done = 0; done < n; done += 100) {
      const objects = Array.from({ length: Math.min(100, n - done) }, () => indicator(`indicator--${randomUUID()}`));
      const r = await alice().post(`/tenant-a/collections/${RW}/objects/`, { objects });
      expect(r.status).toBe(202);
    }
    posted += n;
  }

  function puller(onPage?: () => void): FeedPuller {
    return new FeedPuller({
      store: feeds,
      upstream: (c: FeedClaim): UpstreamPort => {
        const credentials = JSON.parse(sealer.open(c.authSealed!, `feed:${c.feedPk}`)!) as UpstreamCredentials;
        const client = new Taxii21Upstream(c.spec.source.collectionUrl, { policy: { allowedHosts: [], allowPrivate: true }, credentials });
        return {
          getObjects: (q) => {
            onPage?.();
            return client.getObjects(q);
          },
          close: () => client.close(),
        };
      },
      settings: { leaseMs: 30_000, scanIntervalMs: 60_000, concurrency: 1, maxLimit: 10_000, backoff: { baseMs: 100, maxMs: 1000 } },
      log: { info: () => undefined, warn: () => undefined },
    });
  }

  async function turn(p = puller()) {
    const [claim] = await feeds.claimDue(1, 30_000);
    expect(claim?.feedPk).toBe(feedPk);
    return p.turn(claim!);
  }

  /** The mirror's object texts by id, and how many versions it holds. */
  async function mirrored(): Promise<{ count: number; raws: Map<string, string> }> {
    const rows: { stix_id: string; raw: string }[] = await target.dataSource.query(`SELECT stix_id, raw FROM objects`);
    return { count: rows.length, raws: new Map(rows.map((r) => [r.stix_id, r.raw])) };
  }

  beforeAll(async () => {
    upstream = await startServer(STATE, { realBaseUrl: true });
    target = await Database.open({ url: await freshDatabase('feeds'), poolSize: 4 });
    const catalog = new SqlCatalogStore(target);
    await catalog.applyDesiredState(TARGET, { prune: true });
    const snapshot = await catalog.loadCatalog();
    feeds = new SqlFeedStore(target);
    const spec: FeedSpec = {
      source: { kind: 'taxii21', collectionUrl: `${upstream.url}/tenant-a/collections/${RW}/` },
      pageSize: 300,
      intervalSeconds: 0,
      jitterSeconds: 0,
    };
    const rows: { pk: number }[] = await target.dataSource.query(
      `INSERT INTO feeds (api_root_pk, name, collection_pk, spec) VALUES ($1, 'isac', $2, $3::jsonb) RETURNING pk`,
      [snapshot.roots[0]!.pk, snapshot.collections[0]!.pk, JSON.stringify(spec)],
    );
    feedPk = rows[0]!.pk;
    const credentials: UpstreamCredentials = { basic: { username: 'alice', password: 'alice-pw' } };
    await target.dataSource.query(`UPDATE feeds SET auth_sealed = $2 WHERE pk = $1`, [feedPk, sealer.seal(JSON.stringify(credentials), `feed:${feedPk}`)]);
  }, 120_000);

  afterAll(async () => {
    await target?.close();
    await upstream?.close();
  });

  it('mirrors every upstream object, each text byte for byte as the upstream serves it', async () => {
    await post(1_000);
    expect(await turn()).toEqual({ ok: true, nextPollInMs: 0 });
    const m = await mirrored();
    expect(m.count).toBe(posted);
    const served: { stix_id: string; raw: string }[] = await upstream.server.database.dataSource.query(`SELECT stix_id, raw FROM objects`);
    for (const s of served) expect(m.raws.get(s.stix_id)).toBe(s.raw);
    expect(await feeds.progress(feedPk)).toMatchObject({ state: 'ok', objectsMirrored: posted });
  });

  it('takes only what is new on the next turn, and an idle turn stores nothing', async () => {
    await post(700);
    await turn();
    expect((await mirrored()).count).toBe(posted);
    await turn();
    expect((await mirrored()).count).toBe(posted);
    expect((await feeds.progress(feedPk))?.objectsMirrored).toBe(posted);
  });

  it('resumes a turn stopped mid-walk from its last committed page: nothing lost, nothing stored twice', async () => {
    await post(1_500);
    let pages = 0;
    const stopped = puller(() => {
      if (++pages === 3) void stopped.stop();
    });
    expect(await turn(stopped)).toEqual({ stopped: true });
    const partial = (await mirrored()).count;
    expect(partial).toBeGreaterThan(posted - 1_500);
    expect(partial).toBeLessThan(posted);
    await turn();
    const m = await mirrored();
    expect(m.count).toBe(posted);
    expect(new Set(m.raws.keys()).size).toBe(posted);
  });

  it('goes Degraded with the upstream\u2019s refusal when the credentials are wrong, and says nothing of them', async () => {
    const wrong: UpstreamCredentials = { basic: { username: 'alice', password: 'not-the-password-7f3a' } };
    await target.dataSource.query(`UPDATE feeds SET auth_sealed = $2 WHERE pk = $1`, [feedPk, sealer.seal(JSON.stringify(wrong), `feed:${feedPk}`)]);
    const end = (await turn()) as { ok: boolean; state: string; error: string };
    expect(end).toMatchObject({ ok: false, state: 'degraded' });
    expect(end.error).toMatch(/401/);
    const p = await feeds.progress(feedPk);
    expect(p?.lastError).not.toContain('not-the-password');
    expect(p?.state).toBe('degraded');
  });
});
