import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ALL_VERSIONS, CursorCodec, formatTaxiiTimestamp, type ApiRootInfo, type CollectionInfo, type PrincipalInfo, type RawQuery } from '@taxiway/domain';
import { MemoryAuditSink, MemoryObjectStore, minimalIndicator } from '@taxiway/testing';
import { bodyOf, IngestPool } from '../ingest/ingest-pool';
import type { TaxiiContext } from '../tenancy/request-context';
import { TaxiiService, type PagingSettings, type SharingMeter, type TaxiiResponse } from './taxii.service';

/** What the meter was told, in order. */
class RecordingMeter implements SharingMeter {
  readonly calls: unknown[] = [];
  ingested(ctx: Required<TaxiiContext>, r: Parameters<SharingMeter['ingested']>[1]): void {
    this.calls.push({ ingested: r, collection: ctx.collection.name });
  }
  served(ctx: Required<TaxiiContext>, endpoint: string, r: { readonly objects: number }): void {
    this.calls.push({ served: r.objects, endpoint, collection: ctx.collection.name });
  }
}

const ROOT: ApiRootInfo = { pk: 1, name: 'r1', path: 'r1', title: 'R1', description: undefined, maxContentLength: 10_000_000 };
const principal = (pk: number, name: string): PrincipalInfo => ({ pk, name, displayName: undefined, passwordHash: undefined, disabled: false });
const ALICE = principal(5, 'alice');
const BOB = principal(6, 'bob');

const PAGING: PagingSettings = { defaultPageSize: 100, maxPageSize: 1000, maxObjectsPerEnvelope: 50, auditReads: false };

const uid = (): string => `indicator--${randomUUID()}`;
const envelope = (objects: readonly unknown[]) => bodyOf(Buffer.from(JSON.stringify({ objects })));
const json = (r: TaxiiResponse): Record<string, unknown> => JSON.parse(String(r.body)) as Record<string, unknown>;
const items = (r: TaxiiResponse, key = 'objects'): Record<string, unknown>[] => (json(r)[key] as Record<string, unknown>[] | undefined) ?? [];

/** A TaxiiService over the in-memory store, the real inline envelope preparer, and recording observers. */
function setup(paging: Partial<PagingSettings> = {}, quota?: number) {
  const store = new MemoryObjectStore();
  const audit = new MemoryAuditSink();
  const meter = new RecordingMeter();
  const preparer = new IngestPool({ workers: 0, inlineBytes: 0 });
  const svc = new TaxiiService({ objects: store, preparer }, new CursorCodec(Buffer.alloc(32, 7), 3600), { ...PAGING, ...paging }, { audit, meter });
  const collection = (name: string, maxObjects?: number): CollectionInfo => ({
    pk: store.createCollection(maxObjects === undefined ? {} : { maxObjects }),
    id: randomUUID(),
    apiRootPk: ROOT.pk,
    name,
    alias: undefined,
    title: name,
    description: undefined,
    mediaTypes: ['application/stix+json;version=2.1'],
  });
  const coll = collection('c1', quota);
  const ctx = (who: PrincipalInfo = ALICE, c: CollectionInfo = coll): Required<TaxiiContext> => ({
    principal: who,
    root: ROOT,
    collection: c,
    access: { read: true, write: true },
  });
  const post = (objects: readonly unknown[], c = ctx()) => svc.add(c, envelope(objects));
  return { svc, store, audit, meter, coll, collection, ctx, post };
}

describe('TaxiiService.add', () => {
  it('stores the valid objects of an envelope and answers 202 with a complete status that counts the invalid ones as failures', async () => {
    const t = setup();
    const [a, b] = [uid(), uid()];
    const res = await t.post([minimalIndicator(a), { type: 'indicator', id: 'indicator--nope' }, minimalIndicator(b)]);
    expect([res.status, res.objects]).toEqual([202, 2]);
    const s = json(res);
    expect(s).toMatchObject({ status: 'complete', total_count: 3, success_count: 2, failure_count: 1, pending_count: 0 });
    expect((s['successes'] as { id: string }[]).map((d) => d.id)).toEqual([a, b]);
    expect(s['failures']).toEqual([{ id: 'indicator--nope', version: '', message: expect.any(String) }]);
    expect(await t.store.objectExists(t.coll.pk, a)).toBe(true);
    expect(t.audit.entries).toEqual([
      expect.objectContaining({
        action: 'add',
        endpoint: 'objects',
        apiRoot: 'r1',
        collection: 'c1',
        principal: 'alice',
        objectCount: 2,
        statusId: s['id'],
        detail: '1 failed',
      }),
    ]);
    expect(t.meter.calls).toEqual([{ ingested: { objects: 2, failures: { invalid: 1, conflict: 0, quota: 0 } }, collection: 'c1' }]);
  });

  it('meters conflicts and quota refusals apart from invalid objects, and reports duplicates as successes', async () => {
    const t = setup({}, 2);
    const a = uid();
    await t.post([minimalIndicator(a)]);
    const res = await t.post([minimalIndicator(a), minimalIndicator(a, undefined, { name: 'changed' }), minimalIndicator(uid()), minimalIndicator(uid())]);
    expect(json(res)).toMatchObject({ total_count: 4, success_count: 2, failure_count: 2 });
    expect(t.meter.calls.at(-1)).toEqual({ ingested: { objects: 2, failures: { invalid: 0, conflict: 1, quota: 1 } }, collection: 'c1' });
  });

  it('refuses a whole envelope that is missing, not JSON, empty or over the object cap, and stores and records nothing', async () => {
    const t = setup({ maxObjectsPerEnvelope: 2 });
    await expect(t.svc.add(t.ctx(), undefined)).rejects.toMatchObject({ code: 'BadRequest' });
    await expect(t.svc.add(t.ctx(), bodyOf(Buffer.from('{"objects": [')))).rejects.toMatchObject({ code: 'BadRequest' });
    await expect(t.post([])).rejects.toMatchObject({ code: 'Unprocessable' });
    await expect(t.post([minimalIndicator(uid()), minimalIndicator(uid()), minimalIndicator(uid())])).rejects.toMatchObject({ code: 'PayloadTooLarge' });
    expect((await t.store.page({ collectionPk: t.coll.pk, filter: {}, defaultVersions: ALL_VERSIONS, limit: 10, shape: 'manifest' })).rows).toEqual([]);
    expect([t.audit.entries, t.meter.calls]).toEqual([[], []]);
  });

  it('refuses objects of a STIX version the collection does not take, per object', async () => {
    const t = setup();
    const res = await t.post([{ ...minimalIndicator(uid()), spec_version: '2.0' }, minimalIndicator(uid())]);
    expect(json(res)).toMatchObject({ success_count: 1, failure_count: 1 });
  });
});

describe('TaxiiService.list', () => {
  it('serves Get Objects as an envelope of the stored JSON text in date_added order, with the first and last date_added', async () => {
    const t = setup();
    const objs = [minimalIndicator(uid(), '2024-01-01T00:00:00.000Z', { name: 'ünïcödé' }), minimalIndicator(uid())];
    await t.post(objs);
    const res = await t.svc.list(t.ctx(), 'objects', {});
    expect([res.status, res.objects]).toEqual([200, 2]);
    expect(json(res)).toEqual({ more: false, objects: objs });
    const rows = (await t.store.page({ collectionPk: t.coll.pk, filter: {}, defaultVersions: ALL_VERSIONS, limit: 10, shape: 'manifest' })).rows;
    expect(res.headers).toEqual({
      'x-taxii-date-added-first': formatTaxiiTimestamp(rows[0]!.dateAddedUs),
      'x-taxii-date-added-last': formatTaxiiTimestamp(rows[1]!.dateAddedUs),
    });
  });

  it('answers an empty envelope without headers for an empty collection', async () => {
    const t = setup();
    const res = await t.svc.list(t.ctx(), 'objects', {});
    expect([res.status, json(res), res.headers, res.objects]).toEqual([200, { more: false }, {}, 0]);
  });

  it('serves the manifest of the latest version of each object: id, date_added, version and media type', async () => {
    const t = setup();
    const a = uid();
    await t.post([minimalIndicator(a, '2024-01-01T00:00:00.000Z'), minimalIndicator(a, '2024-02-01T00:00:00.000Z')]);
    const res = await t.svc.list(t.ctx(), 'manifest', {});
    expect(items(res)).toEqual([
      { id: a, date_added: expect.stringMatching(/^\d{4}-.*\.\d{6}Z$/), version: '2024-02-01T00:00:00.000Z', media_type: 'application/stix+json;version=2.1' },
    ]);
  });

  it('lists every version of an object on the versions endpoint and only the latest on the object endpoint, by default', async () => {
    const t = setup();
    const a = uid();
    await t.post([minimalIndicator(a, '2024-01-01T00:00:00.000Z'), minimalIndicator(uid()), minimalIndicator(a, '2024-02-01T00:00:00.000Z')]);
    expect(items(await t.svc.list(t.ctx(), 'versions', {}, a), 'versions')).toEqual(['2024-01-01T00:00:00.000Z', '2024-02-01T00:00:00.000Z']);
    expect(items(await t.svc.list(t.ctx(), 'object', {}, a)).map((o) => o['modified'])).toEqual(['2024-02-01T00:00:00.000Z']);
    expect(items(await t.svc.list(t.ctx(), 'object', { 'match[version]': 'first' }, a)).map((o) => o['modified'])).toEqual(['2024-01-01T00:00:00.000Z']);
  });

  it('answers 404 for an object the collection does not hold, and an empty 200 for one whose versions the filters exclude', async () => {
    const t = setup();
    const a = uid();
    await t.post([minimalIndicator(a, '2024-01-01T00:00:00.000Z')]);
    await expect(t.svc.list(t.ctx(), 'object', {}, uid())).rejects.toMatchObject({ code: 'NotFound' });
    await expect(t.svc.list(t.ctx(), 'versions', {}, uid())).rejects.toMatchObject({ code: 'NotFound' });
    const excluded = await t.svc.list(t.ctx(), 'object', { 'match[version]': '2023-01-01T00:00:00Z' }, a);
    expect([excluded.status, json(excluded)]).toEqual([200, { more: false }]);
    // The same object in another collection is not this collection's.
    await expect(t.svc.list(t.ctx(ALICE, t.collection('c2')), 'object', {}, a)).rejects.toMatchObject({ code: 'NotFound' });
  });

  it('filters by match[type], match[id], match[version], match[spec_version] and added_after', async () => {
    const t = setup();
    const [a, b] = [uid(), uid()];
    const m = `malware--${randomUUID()}`;
    const first = await t.post([minimalIndicator(a, '2024-01-01T00:00:00.000Z'), minimalIndicator(b)]);
    expect(first.status).toBe(202);
    const cut = (await t.svc.list(t.ctx(), 'manifest', {})).headers['x-taxii-date-added-last']!;
    await t.post([
      { type: 'malware', id: m, spec_version: '2.1', created: '2024-01-01T00:00:00Z', modified: '2024-01-01T00:00:00Z', name: 'x', is_family: false },
    ]);
    await t.post([minimalIndicator(a, '2024-03-01T00:00:00.000Z')]);
    const ids = async (query: RawQuery) => items(await t.svc.list(t.ctx(), 'manifest', query)).map((r) => `${String(r['id'])}@${String(r['version'])}`);
    expect(await ids({ 'match[type]': 'malware' })).toEqual([`${m}@2024-01-01T00:00:00Z`]);
    expect(await ids({ 'match[id]': `${b},${m}` })).toEqual([`${b}@2024-01-01T00:00:00.000Z`, `${m}@2024-01-01T00:00:00Z`]);
    expect(await ids({ 'match[id]': a, 'match[version]': 'all' })).toEqual([`${a}@2024-01-01T00:00:00.000Z`, `${a}@2024-03-01T00:00:00.000Z`]);
    expect(await ids({ added_after: cut })).toEqual([`${m}@2024-01-01T00:00:00Z`, `${a}@2024-03-01T00:00:00.000Z`]);
    expect(await ids({ 'match[spec_version]': '2.0' })).toEqual([]);
  });

  it('refuses malformed filters and limits as InvalidFilter', async () => {
    const t = setup();
    for (const query of [
      { added_after: 'yesterday' },
      { 'match[type]': 'Not A Type' },
      { 'match[id]': 'indicator--1' },
      { 'match[version]': 'newest' },
      { limit: '0' },
      { limit: 'ten' },
    ]) {
      await expect(t.svc.list(t.ctx(), 'objects', query), JSON.stringify(query)).rejects.toMatchObject({ code: 'InvalidFilter' });
    }
  });

  it('pages with the default page size, caps a limit at the maximum, and follows signed next tokens until more is false', async () => {
    const t = setup({ defaultPageSize: 2, maxPageSize: 3 });
    const objs = Array.from({ length: 7 }, () => minimalIndicator(uid()));
    await t.post(objs);
    const first = await t.svc.list(t.ctx(), 'objects', {});
    expect([items(first).length, json(first)['more']]).toEqual([2, true]);
    const capped = await t.svc.list(t.ctx(), 'objects', { limit: '100' });
    expect(items(capped)).toHaveLength(3);
    // Following next (the limit travels with it; the filters may be repeated or left out).
    const seen = items(capped).map((o) => o['id']);
    let next = json(capped)['next'] as string | undefined;
    for (let i = 0; next !== undefined && i < 10; i++) {
      const page = await t.svc.list(t.ctx(), 'objects', i % 2 === 0 ? { next } : { next, limit: '3' });
      expect(items(page).length).toBeLessThanOrEqual(3);
      seen.push(...items(page).map((o) => o['id']));
      next = json(page)['next'] as string | undefined;
      expect(json(page)['more']).toBe(next !== undefined);
    }
    expect(seen).toEqual(objs.map((o) => o['id']));
  });

  it('keeps the filters of the first page on the pages that follow', async () => {
    const t = setup();
    const objs = Array.from({ length: 4 }, () => minimalIndicator(uid()));
    await t.post([
      ...objs,
      {
        type: 'malware',
        id: `malware--${randomUUID()}`,
        spec_version: '2.1',
        created: '2024-01-01T00:00:00Z',
        modified: '2024-01-01T00:00:00Z',
        name: 'x',
        is_family: false,
      },
    ]);
    const first = await t.svc.list(t.ctx(), 'manifest', { 'match[type]': 'indicator', limit: '3' });
    const second = await t.svc.list(t.ctx(), 'manifest', { next: json(first)['next'] as string });
    expect([...items(first), ...items(second)].map((r) => r['id'])).toEqual(objs.map((o) => o['id']));
    expect(json(second)['more']).toBe(false);
  });

  it('refuses a next token altered, or presented by another principal, for another endpoint, object or collection, or with other filters', async () => {
    const t = setup();
    const a = uid();
    await t.post([minimalIndicator(a, '2024-01-01T00:00:00.000Z'), minimalIndicator(a, '2024-02-01T00:00:00.000Z'), minimalIndicator(uid())]);
    const objects = json(await t.svc.list(t.ctx(), 'objects', { limit: '1' }))['next'] as string;
    const versions = json(await t.svc.list(t.ctx(), 'versions', { limit: '1' }, a))['next'] as string;
    const refused: [Required<TaxiiContext>, 'objects' | 'manifest' | 'versions', RawQuery, string?][] = [
      [t.ctx(BOB), 'objects', { next: objects }],
      [t.ctx(), 'manifest', { next: objects }],
      [t.ctx(ALICE, t.collection('c2')), 'objects', { next: objects }],
      [t.ctx(), 'objects', { next: objects, 'match[type]': 'indicator' }],
      [t.ctx(), 'versions', { next: versions }, uid()],
      [t.ctx(), 'objects', { next: `${objects.startsWith('A') ? 'B' : 'A'}${objects.slice(1)}` }],
    ];
    for (const [ctx, endpoint, query, id] of refused) {
      await expect(t.svc.list(ctx, endpoint, query, id), `${endpoint} ${JSON.stringify(query)}`).rejects.toMatchObject({ code: 'InvalidCursor' });
    }
    expect(items(await t.svc.list(t.ctx(), 'versions', { next: versions }, a), 'versions')).toEqual(['2024-02-01T00:00:00.000Z']);
  });

  it('meters every read, and records reads in the audit log only when told to', async () => {
    const quiet = setup();
    await quiet.post([minimalIndicator(uid())]);
    await quiet.svc.list(quiet.ctx(), 'objects', {});
    expect(quiet.audit.entries.map((e) => e.action)).toEqual(['add']);
    expect(quiet.meter.calls.at(-1)).toEqual({ served: 1, endpoint: 'objects', collection: 'c1' });

    const audited = setup({ auditReads: true });
    await audited.post([minimalIndicator(uid())]);
    await audited.svc.list(audited.ctx(BOB), 'manifest', { 'match[type]': 'indicator', next: undefined });
    expect(audited.audit.entries.at(-1)).toMatchObject({
      action: 'read',
      endpoint: 'manifest',
      principal: 'bob',
      objectCount: 1,
      detail: 'match[type]=indicator',
    });
  });
});

describe('TaxiiService.delete', () => {
  it('deletes every version of an object, or the versions the filters select, and records the delete', async () => {
    const t = setup();
    const a = uid();
    await t.post([
      minimalIndicator(a, '2024-01-01T00:00:00.000Z'),
      minimalIndicator(a, '2024-02-01T00:00:00.000Z'),
      minimalIndicator(a, '2024-03-01T00:00:00.000Z'),
    ]);
    const res = await t.svc.delete(t.ctx(), a, { 'match[version]': 'first' });
    expect([res.status, res.body]).toEqual([200, undefined]);
    expect(items(await t.svc.list(t.ctx(), 'versions', {}, a), 'versions')).toEqual(['2024-02-01T00:00:00.000Z', '2024-03-01T00:00:00.000Z']);
    await t.svc.delete(t.ctx(), a, {});
    expect(await t.store.objectExists(t.coll.pk, a)).toBe(false);
    expect(t.audit.entries.filter((e) => e.action === 'delete')).toEqual([
      expect.objectContaining({ endpoint: 'object', objectCount: 1, detail: a }),
      expect.objectContaining({ endpoint: 'object', objectCount: 2, detail: a }),
    ]);
  });

  it('answers 404 for an object the collection does not hold, and for filters no version matches', async () => {
    const t = setup();
    const a = uid();
    await t.post([minimalIndicator(a, '2024-01-01T00:00:00.000Z')]);
    await expect(t.svc.delete(t.ctx(), uid(), {})).rejects.toMatchObject({ code: 'NotFound' });
    await expect(t.svc.delete(t.ctx(), a, { 'match[version]': '2020-01-01T00:00:00Z' })).rejects.toMatchObject({ code: 'NotFound' });
    await expect(t.svc.delete(t.ctx(), a, { 'match[version]': 'soon' })).rejects.toMatchObject({ code: 'InvalidFilter' });
    expect(await t.store.objectExists(t.coll.pk, a)).toBe(true);
    expect(t.audit.entries.map((e) => e.action)).toEqual(['add']);
  });
});

describe('TaxiiService.status', () => {
  it('serves a status, by id in any letter case, to whom mayRead allows; 404 for a malformed, unknown or unreadable one', async () => {
    const t = setup();
    const added = json(await t.post([minimalIndicator(uid())]));
    const id = added['id'] as string;
    const owners: number[] = [];
    const res = await t.svc.status(ROOT, id.toUpperCase(), (owner) => {
      owners.push(owner);
      return true;
    });
    expect([res.status, json(res)]).toEqual([200, added]);
    expect(owners).toEqual([ALICE.pk]);
    await expect(t.svc.status(ROOT, id, () => false)).rejects.toMatchObject({ code: 'NotFound' });
    await expect(t.svc.status(ROOT, 'not-a-status', () => true)).rejects.toMatchObject({ code: 'NotFound' });
    await expect(t.svc.status(ROOT, randomUUID(), () => true)).rejects.toMatchObject({ code: 'NotFound' });
    await expect(t.svc.status({ ...ROOT, pk: 2, path: 'r2' }, id, () => true)).rejects.toMatchObject({ code: 'NotFound' });
  });
});
