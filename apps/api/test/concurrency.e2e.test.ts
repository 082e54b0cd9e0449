import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, client, startServer, type Client, type RunningServer } from '../../../test/support/server';
import { RW, STATE } from './fixture';

const OBJ = `/tenant-a/collections/${RW}/objects/`;
const WRITERS = 4;
const ENVELOPES = 25;
const PER_ENVELOPE = 20;

function obj(w: number, e: number, i: number): Record<string, unknown> {
  const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
  return {
    type: 'indicator',
    spec_version: '2.1',
    id: `indicator--${hex(w, 8)}-${hex(e, 4)}-4000-8000-${hex(i, 12)}`,
    created: '2020-01-01T00:00:00.000Z',
    modified: '2020-01-01T00:00:00.000Z',
    pattern: "[ipv4-addr:value = '198.51.100.1']",
    pattern_type: 'stix',
    valid_from: '2020-01-01T00:00:00Z',
  };
}

type Page = { ids: string[]; more: boolean; next: string | undefined; last: string | null };
async function page(c: Client, query: string): Promise<Page> {
  const r = await c.get(`${OBJ}?${query}`);
  if (r.status !== 200) throw new Error(`reader got ${r.status}: ${r.text}`);
  const objects = (r.json['objects'] as { id: string }[] | undefined) ?? [];
  return {
    ids: objects.map((o) => o.id),
    more: r.json['more'] === true,
    next: r.json['next'] as string | undefined,
    last: r.headers.get('x-taxii-date-added-last'),
  };
}

/** Follows next while more; when a walk ends, resumes from X-TAXII-Date-Added-Last (as OpenCTI does). */
async function nextReader(c: Client, done: () => boolean): Promise<string[]> {
  const seen: string[] = [];
  let after: string | null = null;
  for (let round = 0; round < 10_000; round++) {
    const finished = done();
    let p = await page(c, `limit=13${after === null ? '' : `&added_after=${after}`}`);
    for (;;) {
      seen.push(...p.ids);
      if (p.last !== null) after = p.last;
      if (!p.more || p.next === undefined) break;
      p = await page(c, `next=${encodeURIComponent(p.next)}`);
    }
    if (finished) return seen;
  }
  throw new Error('reader did not finish');
}

/** Pages only with added_after = the previous X-TAXII-Date-Added-Last (Sentinel/EclecticIQ style). */
async function headerReader(c: Client, done: () => boolean): Promise<string[]> {
  const seen: string[] = [];
  let after: string | null = null;
  for (let round = 0; round < 100_000; round++) {
    const finished = done();
    const p = await page(c, `limit=17${after === null ? '' : `&added_after=${after}`}`);
    seen.push(...p.ids);
    if (p.last !== null) after = p.last;
    if (finished && !p.more) return seen;
  }
  throw new Error('reader did not finish');
}

describe.each(['postgresql', 'pglite'] as const)('concurrent writers and readers on %s', (backend) => {
  let s: RunningServer;
  beforeAll(async () => {
    s = await startServer(STATE, { backend });
  });
  afterAll(async () => {
    await s.close();
  });

  it('every reader sees every object exactly once, whether it pages by next or by added_after', async () => {
    const alice = client(s.url, basic('alice'));
    let writersDone = false;
    const writers = Array.from({ length: WRITERS }, async (_, w) => {
      for (let e = 0; e < ENVELOPES; e++) {
        const r = await alice.post(OBJ, { objects: Array.from({ length: PER_ENVELOPE }, (_, i) => obj(w, e, i)) });
        if (r.status !== 202 || r.json['success_count'] !== PER_ENVELOPE) throw new Error(`writer ${w}: ${r.status} ${r.text}`);
      }
    });
    const done = () => writersDone;
    const readers = [nextReader(alice, done), nextReader(alice, done), headerReader(alice, done), headerReader(alice, done)];
    await Promise.all(writers);
    writersDone = true;
    const results = await Promise.all(readers);
    const expected = WRITERS * ENVELOPES * PER_ENVELOPE;
    for (const seen of results) {
      expect(seen).toHaveLength(expected);
      expect(new Set(seen).size).toBe(expected);
    }
    const dates: { d: number }[] = await s.server.dataSource.query(
      `SELECT date_added_us AS d FROM objects o JOIN collections c ON c.pk = o.collection_pk WHERE c.id = $1 ORDER BY seq`,
      [RW],
    );
    for (let i = 1; i < dates.length; i++) expect(dates[i]!.d).toBeGreaterThan(dates[i - 1]!.d);
  });
});
