import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { minimalIndicator, startMedallion, startOpenTaxii, upstreamsPython, type Medallion, type OpenTaxii, type StixObject } from '@taxiway/testing';
import { blocks, child, fulfillment, inbox, poll, post, status } from '../support/taxii1';

/**
 * The real upstream servers feeds pull from (issue 14), started by the harness in
 * libs/testing/src/upstreams.ts, and how each one actually pages: these tests pin what
 * docs/upstreams.md reports, so a new release that changes it fails here first.
 */

const TAXII = 'application/taxii+json;version=2.1';
const run = promisify(execFile);

interface TaxiiRes {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly body: Record<string, unknown>;
}

async function taxii(url: string, auth: string | undefined, init: { method?: string; body?: unknown } = {}): Promise<TaxiiRes> {
  const headers: Record<string, string> = { accept: TAXII };
  if (auth !== undefined) headers['authorization'] = auth;
  if (init.body !== undefined) headers['content-type'] = TAXII;
  const r = await fetch(url, { method: init.method ?? 'GET', headers, ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }) });
  const text = await r.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // HTML error pages and empty bodies stay {}.
  }
  return { status: r.status, headers: r.headers, text, body };
}

function ids(res: TaxiiRes): string[] {
  return ((res.body['objects'] as { id: string }[] | undefined) ?? []).map((o) => o.id);
}

const id = (n: number): string => `indicator--00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const indicator = (n: number, modified = '2024-01-01T00:00:00.000Z'): StixObject => minimalIndicator(id(n), modified) as StixObject;

/** Follows `next` from a first page, carrying `params` (medallion wants the first request's filters repeated). */
async function pageThrough(collectionUrl: string, auth: string, params: string): Promise<{ pages: TaxiiRes[]; ids: string[] }> {
  const pages: TaxiiRes[] = [];
  let res = await taxii(`${collectionUrl}objects/?${params}`, auth);
  pages.push(res);
  while (res.body['more'] === true) {
    const next = res.body['next'];
    if (typeof next !== 'string') throw new Error(`more=true without next: ${res.text}`);
    res = await taxii(`${collectionUrl}objects/?${params}&next=${encodeURIComponent(next)}`, auth);
    pages.push(res);
    if (pages.length > 100) throw new Error('paging does not end');
  }
  return { pages, ids: pages.flatMap(ids) };
}

const MICROS_Z = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

describe('medallion 3.0.0 (memory backend) as a TAXII 2.1 upstream', () => {
  let m: Medallion;
  const SHARED = '2024-01-01T00:00:00.000000Z';
  // Seeded: three objects share one date_added, then one each at later instants (one with microseconds).
  const seeds = [
    { object: indicator(1), dateAdded: SHARED },
    { object: indicator(2), dateAdded: SHARED },
    { object: indicator(3), dateAdded: SHARED },
    { object: indicator(4), dateAdded: '2024-01-02T00:00:00.000000Z' },
    { object: indicator(5), dateAdded: '2024-01-03T00:00:00.123456Z' },
    { object: indicator(6), dateAdded: '2024-01-04T00:00:00.000000Z' },
  ];

  beforeAll(async () => {
    m = await startMedallion({
      collections: [
        { title: 'rw', canRead: true, canWrite: true },
        { title: 'seeded', canRead: true, canWrite: false, objects: seeds },
      ],
      maxPageSize: 4,
      nextTimeoutSeconds: 3,
      nextSweepSeconds: 1,
    });
  });
  afterAll(async () => {
    await m?.stop();
  });

  it('serves discovery and the API root behind Basic auth and answers 401 without credentials', async () => {
    const d = await taxii(m.discoveryUrl, m.authorization);
    expect(d.status).toBe(200);
    expect(d.body['api_roots']).toEqual([m.apiRootUrl]);
    expect((await taxii(m.apiRootUrl, m.authorization)).body['versions']).toEqual([TAXII]);
    expect((await taxii(m.discoveryUrl, undefined)).status).toBe(401);
    expect((await taxii(m.discoveryUrl, `Basic ${Buffer.from('upstream:wrong').toString('base64')}`)).status).toBe(401);
    const cols = (await taxii(`${m.apiRootUrl}collections/`, m.authorization)).body['collections'] as { id: string; can_write: boolean }[];
    expect(cols.map((c) => [c.id, c.can_write])).toEqual([
      [m.collections['rw'], true],
      [m.collections['seeded'], false],
    ]);
  });

  it('gives every object of one Add Objects request the same date_added, the request time in microseconds', async () => {
    const rw = m.collectionUrl('rw');
    const first = await taxii(`${rw}objects/`, m.authorization, { method: 'POST', body: { objects: [indicator(101), indicator(102), indicator(103)] } });
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ status: 'complete', success_count: 3, failure_count: 0 });
    const second = await taxii(`${rw}objects/`, m.authorization, { method: 'POST', body: { objects: [indicator(104)] } });
    expect(second.body).toMatchObject({ status: 'complete', success_count: 1 });
    const manifest = (await taxii(`${rw}manifest/`, m.authorization)).body['objects'] as { id: string; date_added: string }[];
    const added = manifest.map((e) => e.date_added);
    expect(added.every((a) => MICROS_Z.test(a))).toBe(true);
    expect(new Set(added.slice(0, 3)).size).toBe(1);
    expect(added[3]! > added[0]!).toBe(true);
    // The status resource's request_timestamp is that same instant.
    expect(first.body['request_timestamp']).toBe(added[0]);
  });

  it('refuses a version it already holds (same id and modified) as a failure, without a new date_added', async () => {
    const rw = m.collectionUrl('rw');
    const again = await taxii(`${rw}objects/`, m.authorization, { method: 'POST', body: { objects: [indicator(101)] } });
    expect(again.body).toMatchObject({ status: 'complete', success_count: 0, failure_count: 1 });
    const manifest = (await taxii(`${rw}manifest/`, m.authorization)).body['objects'] as { id: string }[];
    expect(manifest.filter((e) => e.id === id(101))).toHaveLength(1);
  });

  it('pages with limit: more=true and an opaque next until a last page with more=false and no next', async () => {
    const { pages, ids: seen } = await pageThrough(m.collectionUrl('seeded'), m.authorization, 'limit=2');
    expect(seen).toEqual(seeds.map((s) => s.object.id));
    expect(pages.map((p) => [p.body['more'], typeof p.body['next']])).toEqual([
      [true, 'string'],
      [true, 'string'],
      [false, 'undefined'],
    ]);
    // One next token for the whole walk: medallion keeps a server-side session, not a position.
    expect(pages[0]!.body['next']).toBe(pages[1]!.body['next']);
  });

  it("sets X-TAXII-Date-Added-First/Last to the page's first and last date_added, verbatim as stored", async () => {
    const { pages } = await pageThrough(m.collectionUrl('seeded'), m.authorization, 'limit=2');
    expect(pages.map((p) => [p.headers.get('x-taxii-date-added-first'), p.headers.get('x-taxii-date-added-last')])).toEqual([
      [SHARED, SHARED],
      [SHARED, '2024-01-02T00:00:00.000000Z'],
      ['2024-01-03T00:00:00.123456Z', '2024-01-04T00:00:00.000000Z'],
    ]);
  });

  it('treats added_after as exclusive: objects whose date_added equals it are not returned', async () => {
    const seeded = m.collectionUrl('seeded');
    expect(ids(await taxii(`${seeded}objects/?added_after=${SHARED}`, m.authorization))).toEqual([id(4), id(5), id(6)]);
    expect(ids(await taxii(`${seeded}objects/?added_after=2024-01-03T00:00:00.123456Z`, m.authorization))).toEqual([id(6)]);
    // One microsecond earlier includes the boundary object; a value without fraction is accepted too.
    expect(ids(await taxii(`${seeded}objects/?added_after=2024-01-03T00:00:00.123455Z`, m.authorization))).toEqual([id(5), id(6)]);
    expect(ids(await taxii(`${seeded}objects/?added_after=2024-01-02T00:00:00Z`, m.authorization))).toEqual([id(5), id(6)]);
    // Milliseconds parse too; an offset instead of Z does not (500, not 400).
    expect(ids(await taxii(`${seeded}objects/?added_after=2024-01-03T00:00:00.123Z`, m.authorization))).toEqual([id(5), id(6)]);
    expect((await taxii(`${seeded}objects/?added_after=${encodeURIComponent('2024-01-03T00:00:00.123+00:00')}`, m.authorization)).status).toBe(500);
  });

  it('answers an empty result as {} with no more, no next and no date headers', async () => {
    const res = await taxii(`${m.collectionUrl('seeded')}objects/?added_after=2030-01-01T00:00:00.000000Z`, m.authorization);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({});
    expect(res.headers.get('x-taxii-date-added-first')).toBeNull();
    expect(res.headers.get('x-taxii-date-added-last')).toBeNull();
  });

  it('caps limit at max_page_size and pages without limit at max_page_size too', async () => {
    const seeded = m.collectionUrl('seeded');
    const big = await taxii(`${seeded}objects/?limit=1000`, m.authorization);
    expect(ids(big)).toHaveLength(4);
    expect(big.body['more']).toBe(true);
    const none = await taxii(`${seeded}objects/`, m.authorization);
    expect(ids(none)).toHaveLength(4);
    expect(none.body['more']).toBe(true);
  });

  it('serves next from a snapshot taken at the first page: objects added meanwhile appear only to a new added_after query', async () => {
    const rw = m.collectionUrl('rw');
    const first = await taxii(`${rw}objects/?limit=2`, m.authorization);
    expect(first.body['more']).toBe(true);
    await taxii(`${rw}objects/`, m.authorization, { method: 'POST', body: { objects: [indicator(105)] } });
    const rest = await taxii(`${rw}objects/?limit=10&next=${String(first.body['next'])}`, m.authorization);
    expect(ids(rest)).toEqual([id(103), id(104)]);
    expect(rest.body['more']).toBe(false);
    const after = await taxii(`${rw}objects/?added_after=${rest.headers.get('x-taxii-date-added-last')}`, m.authorization);
    expect(ids(after)).toEqual([id(105)]);
  });

  it('answers 400 to a next token when the filters differ from the first request (next must repeat them)', async () => {
    const seeded = m.collectionUrl('seeded');
    const first = await taxii(`${seeded}objects/?limit=2&added_after=${SHARED}`, m.authorization);
    expect(first.body['more']).toBe(true);
    const without = await taxii(`${seeded}objects/?limit=2&next=${String(first.body['next'])}`, m.authorization);
    expect(without.status).toBe(400);
    expect(without.body['description']).toMatch(/params changed/);
    const repeated = await taxii(`${seeded}objects/?limit=2&added_after=${SHARED}&next=${String(first.body['next'])}`, m.authorization);
    expect(ids(repeated)).toEqual([id(6)]);
  });

  it('answers 400 to an unknown next token and to one past its session timeout', async () => {
    const seeded = m.collectionUrl('seeded');
    const unknown = await taxii(`${seeded}objects/?limit=2&next=${crypto.randomUUID()}`, m.authorization);
    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatchObject({ title: 'ProcessingError', http_status: '400' });
    expect(unknown.body['description']).toMatch(/'next' not valid/);
    const first = await taxii(`${seeded}objects/?limit=2`, m.authorization);
    await new Promise((r) => setTimeout(r, 5_000)); // session_timeout 3 s, swept every second
    const expired = await taxii(`${seeded}objects/?limit=2&next=${String(first.body['next'])}`, m.authorization);
    expect(expired.status).toBe(400);
    expect(expired.body['description']).toMatch(/'next' not valid/);
  });

  it('re-serializes objects with sorted keys: the bytes served are not the bytes added', async () => {
    const res = await taxii(`${m.collectionUrl('seeded')}objects/?limit=1`, m.authorization);
    const served = JSON.stringify((res.body['objects'] as unknown[])[0]);
    expect(Object.keys(JSON.parse(served) as object)).toEqual(Object.keys(seeds[0]!.object).sort());
    expect(res.text).not.toContain(JSON.stringify(seeds[0]!.object));
  });

  it('forgets objects added over HTTP when killed and restarted on the same port (memory backend: back to its seed)', async () => {
    const rw = m.collectionUrl('rw');
    expect(ids(await taxii(`${rw}objects/`, m.authorization)).length).toBeGreaterThan(0);
    await m.kill9();
    await expect(fetch(m.discoveryUrl)).rejects.toThrow();
    await m.restart();
    expect((await taxii(`${rw}objects/`, m.authorization)).body).toEqual({});
    expect(ids(await taxii(`${m.collectionUrl('seeded')}objects/?limit=4`, m.authorization))).toEqual([id(1), id(2), id(3), id(4)]);
  });
});

describe('OpenTAXII 0.9.3 as a TAXII 1.1 upstream (sqlite)', () => {
  let o: OpenTaxii;
  const FEED = 'feed-a';
  const content = (n: number): string => `<x:Block xmlns:x="urn:example:x">${n}</x:Block>`;

  beforeAll(async () => {
    o = await startOpenTaxii({ pollPartSize: 2, taxii2Collections: [] });
  });
  afterAll(async () => {
    await o?.stop();
  });

  it('advertises its discovery, collection management, inbox and poll services on the harness port', async () => {
    const res = await post(
      o.taxii1.discovery,
      '',
      '<taxii_11:Discovery_Request xmlns:taxii_11="http://taxii.mitre.org/messages/taxii_xml_binding-1.1" message_id="1"/>',
      {
        auth: o.authorization,
      },
    );
    expect(res.root?.local).toBe('Discovery_Response');
    const addresses = res.root!.children.filter((c) => c.local === 'Service_Instance').map((s) => [s.attrs.get('service_type'), child(s, 'Address')?.text]);
    expect(addresses).toEqual(
      expect.arrayContaining([
        ['INBOX', o.taxii1.inbox],
        ['POLL', o.taxii1.poll],
        ['COLLECTION_MANAGEMENT', o.taxii1.collectionManagement],
      ]),
    );
  });

  it('answers a poll with wrong or no credentials by an UNAUTHORIZED status message over HTTP 200', async () => {
    const wrong = await post(o.taxii1.poll, '', poll(FEED), { auth: `Basic ${Buffer.from('upstream:wrong').toString('base64')}` });
    expect(wrong.status).toBe(200);
    expect(status(wrong).type).toBe('UNAUTHORIZED');
    expect(status(await post(o.taxii1.poll, '', poll(FEED))).type).toBe('UNAUTHORIZED');
  });

  it('keeps a Timestamp_Label the inbox message carries and labels the others with the arrival time in microseconds', async () => {
    const res = await post(
      o.taxii1.inbox,
      '',
      inbox(
        [
          { content: content(1), label: '2024-01-01T00:00:00Z' },
          { content: content(2), label: '2024-01-01T00:00:00Z' },
          { content: content(3), label: '2024-01-01T00:00:00.250000Z' },
          { content: content(4), label: '2024-01-02T00:00:00Z' },
        ],
        { dest: [FEED] },
      ),
      { auth: o.authorization },
    );
    expect(status(res).type).toBe('SUCCESS');
    await post(o.taxii1.inbox, '', inbox([{ content: content(5) }], { dest: [FEED] }), { auth: o.authorization });
    const all = await post(o.taxii1.poll, '', poll(FEED, { begin: '2000-01-01T00:00:00Z' }), { auth: o.authorization });
    const parts = [all];
    for (let part = 2; parts.at(-1)!.root?.attrs.get('more') === 'true'; part++)
      parts.push(await post(o.taxii1.poll, '', fulfillment(FEED, all.root!.attrs.get('result_id')!, part), { auth: o.authorization }));
    const labels = parts.flatMap((p) => blocks(p).map((b) => b.label));
    // Python isoformat(): "+00:00", and no fraction at all when the microseconds are zero.
    expect(labels.slice(0, 4)).toEqual([
      '2024-01-01T00:00:00+00:00',
      '2024-01-01T00:00:00+00:00',
      '2024-01-01T00:00:00.250000+00:00',
      '2024-01-02T00:00:00+00:00',
    ]);
    expect(labels[4]).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$/);
    expect(parts.flatMap((p) => blocks(p).map((b) => b.raw.trim()))).toEqual([1, 2, 3, 4, 5].map(content));
  });

  it('pages a poll in result parts of max_result_size by offset, with more=true on every full part (a last full part is followed by an empty one)', async () => {
    // Five blocks, parts of two: 2, 2, 1 (more: true, true, false).
    const first = await post(o.taxii1.poll, '', poll(FEED), { auth: o.authorization });
    const resultId = first.root!.attrs.get('result_id')!;
    const parts = [first];
    for (let part = 2; part <= 3; part++) parts.push(await post(o.taxii1.poll, '', fulfillment(FEED, resultId, part), { auth: o.authorization }));
    expect(parts.map((p) => [p.root?.attrs.get('result_part_number'), p.root?.attrs.get('more'), blocks(p).length])).toEqual([
      ['1', 'true', 2],
      ['2', 'true', 2],
      ['3', 'false', 1],
    ]);
    // Inclusive end at the fourth block: four blocks, so part 2 is full, says more=true, and part 3 is empty.
    const bounded = await post(o.taxii1.poll, '', poll(FEED, { end: '2024-01-02T00:00:00Z' }), { auth: o.authorization });
    const boundedId = bounded.root!.attrs.get('result_id')!;
    const p2 = await post(o.taxii1.poll, '', fulfillment(FEED, boundedId, 2), { auth: o.authorization });
    const p3 = await post(o.taxii1.poll, '', fulfillment(FEED, boundedId, 3), { auth: o.authorization });
    expect([bounded, p2, p3].map((p) => [p.root?.attrs.get('more'), blocks(p).length])).toEqual([
      ['true', 2],
      ['true', 2],
      ['false', 0],
    ]);
  });

  it('treats Exclusive_Begin_Timestamp as exclusive and Inclusive_End_Timestamp as inclusive, compared at microsecond precision', async () => {
    const window = async (begin: string | undefined, end: string | undefined): Promise<string[]> => {
      const parts = [
        await post(o.taxii1.poll, '', poll(FEED, { ...(begin === undefined ? {} : { begin }), ...(end === undefined ? {} : { end }) }), {
          auth: o.authorization,
        }),
      ];
      for (let part = 2; parts.at(-1)!.root?.attrs.get('more') === 'true'; part++)
        parts.push(await post(o.taxii1.poll, '', fulfillment(FEED, parts[0]!.root!.attrs.get('result_id')!, part), { auth: o.authorization }));
      return parts.flatMap((p) => blocks(p).map((b) => b.raw.trim()));
    };
    // Two blocks share 2024-01-01T00:00:00: a begin at that instant skips both.
    expect(await window('2024-01-01T00:00:00Z', '2024-01-02T00:00:00Z')).toEqual([content(3), content(4)]);
    expect(await window('2023-12-31T23:59:59.999999Z', '2024-01-01T00:00:00.249999Z')).toEqual([content(1), content(2)]);
    expect(await window(undefined, '2024-01-01T00:00:00.250000Z')).toEqual([content(1), content(2), content(3)]);
    expect(await window('2024-01-01T00:00:00.249999Z', '2024-01-01T00:00:00.250000Z')).toEqual([content(3)]);
    expect(await window('2024-01-01T00:00:00.250000Z', '2024-01-01T00:00:00.250000Z')).toEqual([]);
  });

  it('echoes the request window in the Poll_Response: no Inclusive_End_Timestamp unless the request sent one', async () => {
    const open = await post(o.taxii1.poll, '', poll(FEED, { begin: '2024-01-01T00:00:00Z' }), { auth: o.authorization });
    expect(child(open.root, 'Exclusive_Begin_Timestamp')?.text).toBe('2024-01-01T00:00:00+00:00');
    expect(child(open.root, 'Inclusive_End_Timestamp')).toBeUndefined();
    const closed = await post(o.taxii1.poll, '', poll(FEED, { end: '2024-01-02T00:00:00.000001Z' }), { auth: o.authorization });
    expect(child(closed.root, 'Inclusive_End_Timestamp')?.text).toBe('2024-01-02T00:00:00.000001+00:00');
  });

  it('keeps its content blocks and result sets in sqlite across kill -9 and a restart on the same port', async () => {
    const before = await post(o.taxii1.poll, '', poll(FEED), { auth: o.authorization });
    const resultId = before.root!.attrs.get('result_id')!;
    await o.kill9();
    await expect(fetch(o.taxii1.discovery)).rejects.toThrow();
    await o.restart();
    const again = await post(o.taxii1.poll, '', poll(FEED), { auth: o.authorization });
    expect(blocks(again).map((b) => b.raw)).toEqual(blocks(before).map((b) => b.raw));
    const part2 = await post(o.taxii1.poll, '', fulfillment(FEED, resultId, 2), { auth: o.authorization });
    expect(blocks(part2).map((b) => b.raw.trim())).toEqual([content(3), content(4)]);
  });
});

describe('OpenTAXII 0.9.3 TAXII 1.1 poll with count_blocks_in_poll_responses', () => {
  let o: OpenTaxii;
  beforeAll(async () => {
    o = await startOpenTaxii({ pollPartSize: 2, countBlocks: true, taxii2Collections: [] });
  });
  afterAll(async () => {
    await o?.stop();
  });

  it('counts the blocks (Record_Count) and says more=false on a last full part', async () => {
    const blocksIn = [1, 2, 3, 4].map((n) => ({ content: `<x:Block xmlns:x="urn:example:x">${n}</x:Block>` }));
    expect(status(await post(o.taxii1.inbox, '', inbox(blocksIn, { dest: ['feed-a'] }), { auth: o.authorization })).type).toBe('SUCCESS');
    const first = await post(o.taxii1.poll, '', poll('feed-a'), { auth: o.authorization });
    expect(child(first.root, 'Record_Count')?.text).toBe('4');
    expect(child(first.root, 'Record_Count')?.attrs.get('partial_count')).toBe('false');
    const second = await post(o.taxii1.poll, '', fulfillment('feed-a', first.root!.attrs.get('result_id')!, 2), { auth: o.authorization });
    expect([first, second].map((p) => [p.root?.attrs.get('more'), blocks(p).length])).toEqual([
      ['true', 2],
      ['false', 2],
    ]);
  });

  it('pages a result set by offset over the live query: a block inboxed meanwhile with an older label shifts later parts (one block comes twice)', async () => {
    const block = (n: number): string => `<x:Block xmlns:x="urn:example:x">${n}</x:Block>`;
    const first = await post(o.taxii1.poll, '', poll('feed-a'), { auth: o.authorization });
    const resultId = first.root!.attrs.get('result_id')!;
    expect(blocks(first).map((b) => b.raw.trim())).toEqual([block(1), block(2)]);
    await post(o.taxii1.inbox, '', inbox([{ content: block(0), label: '2000-01-01T00:00:00Z' }], { dest: ['feed-a'] }), { auth: o.authorization });
    const second = await post(o.taxii1.poll, '', fulfillment('feed-a', resultId, 2), { auth: o.authorization });
    const third = await post(o.taxii1.poll, '', fulfillment('feed-a', resultId, 3), { auth: o.authorization });
    expect([second, third].map((p) => blocks(p).map((b) => b.raw.trim()))).toEqual([[block(2), block(3)], [block(4)]]);
  });
});

describe('OpenTAXII 0.9.3 as a TAXII 2.1 upstream (sqlite)', () => {
  let o: OpenTaxii;
  let col: string;

  beforeAll(async () => {
    o = await startOpenTaxii({ taxii2Collections: ['upstream', 'second'] });
    col = o.taxii2!.collectionUrl('upstream');
  });
  afterAll(async () => {
    await o?.stop();
  });

  it('lists its API root by a relative path in discovery and needs Basic auth for collections', async () => {
    const d = await taxii(o.taxii2!.discoveryUrl, o.authorization);
    const rootPath = new URL(o.taxii2!.apiRootUrl).pathname;
    expect(d.body).toMatchObject({ default: rootPath, api_roots: [rootPath] });
    expect((await taxii(`${o.taxii2!.apiRootUrl}collections/`, undefined)).status).toBe(401);
    const cols = (await taxii(`${o.taxii2!.apiRootUrl}collections/`, o.authorization)).body['collections'] as { id: string; can_write: boolean }[];
    expect(cols).toHaveLength(2);
    expect(cols).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: o.taxii2!.collections['upstream'], title: 'upstream', can_read: true, can_write: true }),
        expect.objectContaining({ id: o.taxii2!.collections['second'], title: 'second', can_read: true, can_write: true }),
      ]),
    );
  });

  it('stores Add Objects synchronously and gives each object its own date_added, microseconds apart', async () => {
    const add = await taxii(`${col}objects/`, o.authorization, {
      method: 'POST',
      body: { objects: [indicator(1), indicator(1, '2024-02-01T00:00:00.000Z'), indicator(2), indicator(3)] },
    });
    expect(add.status).toBe(202);
    expect(add.body).toMatchObject({ status: 'complete', total_count: 4, success_count: 4 });
    await taxii(`${col}objects/`, o.authorization, { method: 'POST', body: { objects: [indicator(4), indicator(5)] } });
    const manifest = (await taxii(`${col}manifest/?match[version]=all`, o.authorization)).body['objects'] as {
      id: string;
      date_added: string;
      version: string;
    }[];
    expect(manifest.map((e) => e.id)).toEqual([id(1), id(1), id(2), id(3), id(4), id(5)]);
    expect(manifest.every((e) => MICROS_Z.test(e.date_added))).toBe(true);
    expect(new Set(manifest.map((e) => e.date_added)).size).toBe(6);
    // Versions come back re-formatted with microseconds, not as the object wrote them.
    expect(manifest[0]!.version).toBe('2024-01-01T00:00:00.000000Z');
  });

  it('rejects a whole envelope with 400 when one object is not valid STIX', async () => {
    const bad = await taxii(`${col}objects/`, o.authorization, { method: 'POST', body: { objects: [indicator(6), { type: 'indicator', id: id(7) }] } });
    expect(bad.status).toBe(400);
    expect(ids(await taxii(`${col}objects/?match[id]=${id(6)}`, o.authorization))).toEqual([]);
  });

  it('pages with limit by a keyset next (base64 of date_added|id): more=true with next, then a last page with more=false and no next', async () => {
    const { pages, ids: seen } = await pageThrough(col, o.authorization, 'limit=2');
    expect(seen).toEqual([id(1), id(2), id(3), id(4), id(5)]);
    expect(pages.map((p) => [p.body['more'], typeof p.body['next']])).toEqual([
      [true, 'string'],
      [true, 'string'],
      [false, 'undefined'],
    ]);
    const decoded = Buffer.from(String(pages[0]!.body['next']), 'base64').toString('utf8');
    expect(decoded).toMatch(new RegExp(`^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{6}\\+00:00\\|${id(2)}$`));
    expect(pages[0]!.headers.get('x-taxii-date-added-last')).toBe(`${decoded.slice(0, 26)}Z`);
  });

  it('keeps a next token valid indefinitely and independent of the filters sent with it (it is a position, not a session)', async () => {
    const first = await taxii(`${col}objects/?limit=2`, o.authorization);
    await new Promise((r) => setTimeout(r, 1_000));
    const later = await taxii(`${col}objects/?limit=10&next=${encodeURIComponent(String(first.body['next']))}`, o.authorization);
    expect(ids(later)).toEqual([id(3), id(4), id(5)]);
    const garbage = await taxii(`${col}objects/?limit=2&next=not-a-token`, o.authorization);
    expect(garbage.status).toBe(400);
    expect(garbage.body).toMatchObject({ name: 'validation error', description: { next: ['Not a valid value.'] } });
  });

  it('honours a next token issued before kill -9 after a restart on the same port (the position lives in sqlite)', async () => {
    const first = await taxii(`${col}objects/?limit=2`, o.authorization);
    await o.kill9();
    await o.restart();
    const rest = await taxii(`${col}objects/?limit=10&next=${encodeURIComponent(String(first.body['next']))}`, o.authorization);
    expect(ids(rest)).toEqual([id(3), id(4), id(5)]);
  });

  it('returns all objects in one answer without limit (no server page size) and more=false', async () => {
    const res = await taxii(`${col}objects/`, o.authorization);
    expect(ids(res)).toHaveLength(5);
    expect(res.body['more']).toBe(false);
    expect(res.body['next']).toBeUndefined();
  });

  it('treats added_after as exclusive at microsecond precision and refuses one without fractional seconds (400)', async () => {
    const manifest = (await taxii(`${col}manifest/`, o.authorization)).body['objects'] as { id: string; date_added: string }[];
    const third = manifest[2]!.date_added;
    expect(ids(await taxii(`${col}objects/?added_after=${third}`, o.authorization))).toEqual([id(4), id(5)]);
    const micro = Number(third.slice(20, 26));
    const justBefore = `${third.slice(0, 20)}${String(micro - 1).padStart(6, '0')}Z`;
    if (micro > 0) expect(ids(await taxii(`${col}objects/?added_after=${justBefore}`, o.authorization))).toEqual([id(3), id(4), id(5)]);
    const noFraction = await taxii(`${col}objects/?added_after=2024-01-01T00:00:00Z`, o.authorization);
    expect(noFraction.status).toBe(400);
    expect(noFraction.body['description']).toEqual({ added_after: ['Not a valid datetime.'] });
    // Any number of fraction digits parses; an offset instead of Z does not.
    expect(ids(await taxii(`${col}objects/?added_after=2024-01-01T00:00:00.1Z`, o.authorization))).toHaveLength(5);
    expect((await taxii(`${col}objects/?added_after=${encodeURIComponent('2024-01-01T00:00:00.000000+00:00')}`, o.authorization)).status).toBe(400);
  });

  it('serves the latest version by default with the headers of that page and sets spec_version to the object type (a bug)', async () => {
    const res = await taxii(`${col}objects/?match[id]=${id(1)}`, o.authorization);
    const objs = res.body['objects'] as Record<string, unknown>[];
    expect(objs).toHaveLength(1);
    expect(objs[0]).toMatchObject({ id: id(1), modified: '2024-02-01T00:00:00.000Z', spec_version: 'indicator' });
    expect(res.headers.get('x-taxii-date-added-first')).toMatch(MICROS_Z);
  });

  it('answers an empty result as {} with no more and no date headers', async () => {
    const res = await taxii(`${col}objects/?added_after=2099-01-01T00:00:00.000000Z`, o.authorization);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({});
    expect(res.headers.get('x-taxii-date-added-last')).toBeNull();
  });

  it('rejects its own next token with 400 when the boundary object was added at a whole second (isoformat drops the fraction the parser needs)', async () => {
    const second = o.taxii2!.collectionUrl('second');
    await taxii(`${second}objects/`, o.authorization, { method: 'POST', body: { objects: [indicator(201), indicator(202), indicator(203)] } });
    // A date_added with zero microseconds, as one write in a million gets; set in OpenTAXII's sqlite file.
    await run(upstreamsPython(), [
      '-c',
      'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute("update opentaxii_stixobject set date_added = ? where id = ?", ("2020-01-01 00:00:00.000000", sys.argv[2])); c.commit()',
      join(o.dataDir, 'taxii2.db'),
      id(201),
    ]);
    const first = await taxii(`${second}objects/?limit=1`, o.authorization);
    expect(ids(first)).toEqual([id(201)]);
    expect(first.headers.get('x-taxii-date-added-last')).toBe('2020-01-01T00:00:00.000000Z');
    const next = String(first.body['next']);
    expect(Buffer.from(next, 'base64').toString('utf8')).toBe(`2020-01-01T00:00:00+00:00|${id(201)}`);
    const rest = await taxii(`${second}objects/?limit=1&next=${encodeURIComponent(next)}`, o.authorization);
    expect(rest.status).toBe(400);
    expect(rest.body['description']).toEqual({ next: ['Not a valid value.'] });
    // added_after at the page's last header is the way on.
    expect(ids(await taxii(`${second}objects/?added_after=${first.headers.get('x-taxii-date-added-last')}`, o.authorization))).toEqual([id(202), id(203)]);
  });
});

describe('upstream harness', () => {
  it("fails a start whose server exits, with the server's own output in the error", async () => {
    const saved = process.env['TAXIWAY_UPSTREAMS_PYTHON'];
    process.env['TAXIWAY_UPSTREAMS_PYTHON'] = process.execPath; // node, not python: `-m` is a bad option to it, it says so on stderr and exits 9
    try {
      await expect(startMedallion({ startTimeoutMs: 10_000 })).rejects.toThrow(
        /^medallion exited with 9 before it answered http:\/\/127\.0\.0\.1:\d+\/taxii2\/:\n.*bad option: -m/s,
      );
    } finally {
      if (saved === undefined) delete process.env['TAXIWAY_UPSTREAMS_PYTHON'];
      else process.env['TAXIWAY_UPSTREAMS_PYTHON'] = saved;
    }
  });
});
