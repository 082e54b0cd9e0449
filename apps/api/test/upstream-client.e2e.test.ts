import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { afterPage, nextPageQuery, restartWalk, type FeedPagingSettings, type FeedPosition } from '@taxiway/domain';
import { startMedallion, type Medallion, type SeedObject } from '@taxiway/testing';
import { Taxii21Upstream, type UpstreamOptions } from '../src/feeds/upstream-client';

const POLICY: UpstreamOptions['policy'] = { allowedHosts: ['127.0.0.1'], allowPrivate: false };
const SETTINGS: FeedPagingSettings = { limit: 4, maxLimit: 64 };

const indicator = (n: number, modified = '2025-01-01T00:00:00.000Z'): Record<string, unknown> & { type: string; id: string } => ({
  type: 'indicator',
  spec_version: '2.1',
  id: `indicator--00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  created: '2025-01-01T00:00:00.000Z',
  modified,
  name: `indicator ${n} — café`,
  pattern: `[ipv4-addr:value = '198.51.100.${n}']`,
  pattern_type: 'stix',
  valid_from: '2025-01-01T00:00:00Z',
});

/**
 * 23 versions: runs of objects sharing one date_added (longer than a page), a second version of an
 * object, and timestamps at millisecond and microsecond precision.
 */
function seeds(): SeedObject[] {
  const out: SeedObject[] = [];
  for (let n = 1; n <= 6; n++) out.push({ object: indicator(n), dateAdded: '2025-02-01T00:00:00.000000Z' });
  for (let n = 7; n <= 12; n++) out.push({ object: indicator(n), dateAdded: `2025-02-01T00:00:0${n - 6}.123000Z` });
  for (let n = 13; n <= 17; n++) out.push({ object: indicator(n), dateAdded: '2025-02-02T00:00:00.000001Z' });
  for (let n = 18; n <= 22; n++) out.push({ object: indicator(n), dateAdded: `2025-02-03T00:00:00.${String(n).padStart(6, '0')}Z` });
  out.push({ object: indicator(3, '2025-03-01T00:00:00.000Z'), dateAdded: '2025-03-01T00:00:00.000000Z' });
  return out;
}

const versionKey = (text: string): string => {
  const o = JSON.parse(text) as { id: string; modified: string };
  return `${o.id}@${o.modified}`;
};

interface Walk {
  readonly position: FeedPosition;
  readonly keys: Set<string>;
  readonly pages: number;
  readonly restarts: number;
}

/** Pages the collection by the feed-cursor rules until the upstream has nothing more. */
async function walk(client: Taxii21Upstream, from: FeedPosition, onPage?: (page: number) => Promise<void>): Promise<Walk> {
  let position = from;
  const keys = new Set<string>();
  let pages = 0;
  let restarts = 0;
  for (let guard = 0; guard < 200; guard++) {
    const query = nextPageQuery(position, SETTINGS);
    const answer = await client.getObjects(query);
    if (!answer.ok) {
      if (answer.kind !== 'cursor') throw new Error(`${answer.kind}: ${answer.message}`);
      position = restartWalk(position, SETTINGS);
      restarts++;
      continue;
    }
    pages++;
    for (const raw of answer.objects) keys.add(versionKey(raw));
    const step = afterPage(position, query, answer.page, SETTINGS);
    if (step.stalled !== undefined) throw new Error(`stalled: ${step.stalled}`);
    position = step.position;
    if (step.caughtUp) return { position, keys, pages, restarts };
    await onPage?.(pages);
  }
  throw new Error('the walk did not catch up in 200 pages');
}

describe('Taxii21Upstream against a real medallion', () => {
  let m: Medallion;
  const all = seeds();
  const expected = new Set(all.map((s) => `${s.object.id}@${String(s.object['modified'])}`));

  beforeAll(async () => {
    m = await startMedallion({
      maxPageSize: 100,
      nextTimeoutSeconds: 1,
      nextSweepSeconds: 1,
      collections: [
        { title: 'mirror me', canRead: true, canWrite: true, objects: all },
        { title: 'other', canRead: true, canWrite: false },
      ],
    });
  });
  afterAll(async () => m?.stop());

  const credentials = (): UpstreamOptions['credentials'] => ({ basic: { username: m.user, password: m.password } });

  it('finds the collection by title from the discovery URL', async () => {
    const found = await Taxii21Upstream.resolveCollection(m.discoveryUrl, 'mirror me', { policy: POLICY, credentials: credentials() });
    expect(found).toEqual({ ok: true, collectionUrl: m.collectionUrl('mirror me') });
  });

  it('pages the whole collection with the feed-cursor rules and gets every object version, as medallion serves it', async () => {
    const client = new Taxii21Upstream(m.collectionUrl('mirror me'), { policy: POLICY, credentials: credentials() });
    try {
      const first = await walk(client, {});
      expect(first.keys).toEqual(expected);
      expect(first.pages).toBeGreaterThan(all.length / SETTINGS.limit);
      const page = await client.getObjects({ limit: 100 });
      if (!page.ok) throw new Error(page.message);
      expect(page.objects.map((raw) => JSON.parse(raw) as unknown)).toEqual(expect.arrayContaining(all.map((s) => s.object)));
      expect(page.invalid).toEqual([]);
      // Each object is the very text medallion sent, cut out of its answer (not re-serialized).
      const sent = await (
        await fetch(`${m.collectionUrl('mirror me')}objects/?limit=100&match%5Bversion%5D=all`, {
          headers: { authorization: m.authorization, accept: 'application/taxii+json;version=2.1' },
        })
      ).text();
      for (const raw of page.objects) expect(sent).toContain(raw);

      // Objects added after the walk caught up arrive with the next poll from the saved position.
      const added = [indicator(30), indicator(31), indicator(5, '2025-04-01T00:00:00.000Z')];
      const post = await fetch(`${m.collectionUrl('mirror me')}objects/`, {
        method: 'POST',
        headers: { authorization: m.authorization, 'content-type': 'application/taxii+json;version=2.1', accept: 'application/taxii+json;version=2.1' },
        body: JSON.stringify({ objects: added }),
      });
      expect(post.status).toBe(202);
      const second = await walk(client, first.position);
      for (const o of added) expect(second.keys).toContain(`${o.id}@${String(o['modified'])}`);
    } finally {
      await client.close();
    }
  });

  it('restarts from the mark when medallion has expired the next token, losing nothing', async () => {
    const client = new Taxii21Upstream(m.collectionUrl('mirror me'), { policy: POLICY, credentials: credentials() });
    try {
      const w = await walk(client, {}, async (n) => {
        if (n === 2) await new Promise((r) => setTimeout(r, 2500));
      });
      expect(w.restarts).toBeGreaterThanOrEqual(1);
      for (const k of expected) expect(w.keys).toContain(k);
    } finally {
      await client.close();
    }
  });

  it('answers auth for a wrong password without the password in the message', async () => {
    const client = new Taxii21Upstream(m.collectionUrl('mirror me'), {
      policy: POLICY,
      credentials: { basic: { username: m.user, password: 'wrong-Pw-123' } },
    });
    try {
      const a = await client.getObjects({ limit: 5 });
      expect(a).toMatchObject({ ok: false, kind: 'auth', status: 401 });
      expect(JSON.stringify(a)).not.toContain('wrong-Pw-123');
    } finally {
      await client.close();
    }
  });
});
