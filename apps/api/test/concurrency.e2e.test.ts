import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, client, startServer, type Client, type RunningServer } from '../../../test/support/server';
import { blocks, child, inbox, poll, post, status, STIX12, STIX21 } from '../../../test/support/taxii1';
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
    // One TAXII 1.x poll answers in one part, so a poller needs no fulfillment.
    s = await startServer(STATE, { backend, env: { TAXII1_PART_SIZE: '100000' } });
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
    const dates: { d: number }[] = await s.server.database.dataSource.query(
      `SELECT date_added_us AS d FROM objects o JOIN collections c ON c.pk = o.collection_pk WHERE c.id = $1 ORDER BY seq`,
      [RW],
    );
    for (let i = 1; i < dates.length; i++) expect(dates[i]!.d).toBeGreaterThan(dates[i - 1]!.d);
  });

  it('TAXII 2.1 and TAXII 1.x writers share one timeline: every reader of either protocol sees every item once, in one order', async () => {
    const alice = client(s.url, basic('alice'));
    let writersDone = false;
    const done = (): boolean => writersDone;
    const objectIds = new Set<string>();
    const packageIds = new Set<string>();
    const writers21 = [16, 17].map(async (w) => {
      for (let e = 0; e < 15; e++) {
        const objs = Array.from({ length: 10 }, (_, i) => obj(w, e, i));
        for (const o of objs) objectIds.add(o['id'] as string);
        const r = await alice.post(OBJ, { objects: objs });
        if (r.status !== 202 || r.json['success_count'] !== 10) throw new Error(`2.1 writer ${w}: ${r.status} ${r.text}`);
      }
    });
    const writers1x = [0, 1].map(async (w) => {
      for (let e = 0; e < 15; e++) {
        const pkgs = Array.from({ length: 10 }, (_, i) => `t1-${w}-${e}-${i}`);
        for (const id of pkgs) packageIds.add(id);
        const body = inbox(
          pkgs.map((id) => ({ content: `<stix:STIX_Package xmlns:stix="http://stix.mitre.org/stix-1" id="example:Package-${id}" version="1.2"/>` })),
        );
        const r = await post(s.url, '/taxii1/tenant-a/inbox/rw/', body, { auth: basic('alice') });
        if (status(r).type !== 'SUCCESS') throw new Error(`1.x writer ${w}: ${r.status} ${r.text.slice(0, 300)}`);
      }
    });
    const readers21 = [nextReader(alice, done), headerReader(alice, done)];
    const pollers = [poller(s.url, done), poller(s.url, done)];
    await Promise.all([...writers21, ...writers1x]);
    writersDone = true;
    for (const seen of await Promise.all(readers21)) {
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.filter((id) => objectIds.has(id))).toHaveLength(objectIds.size);
    }
    for (const items of await Promise.all(pollers)) {
      // Labels strictly increase across both kinds of items: one order, nothing repeated.
      for (let i = 1; i < items.length; i++) expect(items[i]!.label > items[i - 1]!.label, `${items[i - 1]!.label} then ${items[i]!.label}`).toBe(true);
      const keys = items.map((x) => x.key);
      expect(new Set(keys).size).toBe(keys.length);
      expect(keys.filter((k) => objectIds.has(k))).toHaveLength(objectIds.size);
      expect(keys.filter((k) => packageIds.has(k))).toHaveLength(packageIds.size);
    }
  });
});

/**
 * A TAXII 1.x poller asking for STIX 1.x and STIX 2.1: each poll begins where the previous answer's
 * Inclusive_End_Timestamp ended (as cabby and libtaxii clients resume). Items: their label and the
 * STIX id (2.1 objects) or package name (1.x blocks).
 */
async function poller(url: string, done: () => boolean): Promise<{ label: string; key: string }[]> {
  const items: { label: string; key: string }[] = [];
  let begin: string | undefined;
  for (let round = 0; round < 10_000; round++) {
    const finished = done();
    const r = await post(url, '/taxii1/tenant-a/poll/', poll('rw', { bindings: [STIX12, STIX21], ...(begin !== undefined && { begin }) }), {
      auth: basic('alice'),
    });
    if (r.root?.local !== 'Poll_Response') throw new Error(`poller: ${r.status} ${r.text.slice(0, 300)}`);
    for (const b of blocks(r)) {
      const key = b.binding === STIX21 ? /"id":\s*"([^"]+)"|&quot;id&quot;:\s*&quot;([^&]+)&quot;/.exec(b.raw) : /Package-([^"&]+)/.exec(b.raw);
      items.push({ label: b.label ?? '', key: key?.[1] ?? key?.[2] ?? '' });
    }
    begin = child(r.root, 'Inclusive_End_Timestamp')?.text ?? begin;
    if (finished) return items;
  }
  throw new Error('poller did not finish');
}
