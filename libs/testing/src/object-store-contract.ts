import { randomUUID } from 'node:crypto';
import type * as Vitest from 'vitest';
import {
  ALL_VERSIONS,
  LAST_VERSION,
  filterKey,
  formatTaxiiTimestamp,
  parseStixInstant,
  parseVersionSelector,
  selectVersions,
  validateStixObject,
  type AddRequest,
  type ObjectFilter,
  type ObjectStore,
  type PageRequest,
  type PageRow,
  type StatusResource,
  type StixRecord,
  type VersionRow,
} from '@taxiway/domain';
import { minimalIndicator as indicator, Rng } from './stix';

/**
 * The vitest functions the suite declares its tests with, handed over by the test file: this module
 * is loaded outside test runs too (benchmarks and the global setup import @taxiway/testing), and
 * importing vitest there throws.
 */
export type SuiteApi = Pick<typeof Vitest, 'describe' | 'it' | 'expect' | 'beforeAll' | 'afterAll'>;

/** An ObjectStore ready for the contract: an API root and a principal exist, and collections are made on demand. */
export interface ObjectStoreFixture {
  readonly store: ObjectStore;
  readonly apiRootPk: number;
  readonly principalPk: number;
  /** Makes a new, empty collection of the API root and returns its pk; `maxObjects` is its quota. */
  createCollection(opts?: { readonly maxObjects?: number }): Promise<number>;
  close(): Promise<void>;
}

const MEDIA_TYPES = ['application/stix+json'];

function rec(o: Record<string, unknown>): StixRecord {
  const v = validateStixObject(o, MEDIA_TYPES);
  if (!v.ok) throw new Error(v.message);
  return v.record;
}

const uid = (t = 'indicator'): string => `${t}--${randomUUID()}`;

/** The record with its JSON as UTF-8 bytes, as an ingest worker hands over a large object. */
const asBytes = (r: StixRecord): StixRecord => ({ ...r, raw: Buffer.from(r.raw as string) });

/** What every test of the suite works with. */
class Harness {
  constructor(readonly f: ObjectStoreFixture) {}

  get store(): ObjectStore {
    return this.f.store;
  }

  request(collectionPk: number, records: readonly StixRecord[], over: Partial<AddRequest> = {}): AddRequest {
    return {
      statusId: randomUUID(),
      apiRootPk: this.f.apiRootPk,
      collectionPk,
      principalPk: this.f.principalPk,
      requestTimestampUs: Date.now() * 1000,
      valid: records.map((record, index) => ({ index, record })),
      invalid: [],
      ...over,
    };
  }

  add(collectionPk: number, objects: readonly (Record<string, unknown> | StixRecord)[]): Promise<StatusResource> {
    const records = objects.map((o) => (isRecord(o) ? o : rec(o)));
    return this.store.addObjects(this.request(collectionPk, records));
  }

  /** Every row the request selects, in one page. */
  async all(collectionPk: number, filter: ObjectFilter = {}, more: Partial<PageRequest> = {}): Promise<readonly PageRow[]> {
    return (await this.store.page({ collectionPk, filter, defaultVersions: LAST_VERSION, limit: 100_000, shape: 'objects', ...more })).rows;
  }

  /** Every stored version of a collection's objects, as the reference model takes them. */
  async stored(collectionPk: number, posted: readonly StixRecord[]): Promise<(VersionRow & { seq: number })[]> {
    const byVersion = new Map(posted.map((r) => [`${r.id}@${r.versionUs}`, r]));
    const rows = await this.all(collectionPk, { versions: ALL_VERSIONS, specVersions: ['2.0', '2.1'] }, { shape: 'manifest' });
    return rows.map((r) => {
      const versionUs = parseStixInstant(r.version) ?? 0n;
      const record = byVersion.get(`${r.id}@${versionUs}`);
      if (record === undefined) throw new Error(`the store holds a version that was never posted: ${r.id} ${r.version}`);
      return { id: r.id, type: record.type, specVersion: record.specVersion, versionUs, dateAddedUs: r.dateAddedUs, seq: r.seq };
    });
  }
}

const isRecord = (o: Record<string, unknown> | StixRecord): o is StixRecord => typeof o['raw'] === 'string' || o['raw'] instanceof Uint8Array;

/** Objects with 1–4 versions each, some in spec version 2.0, shuffled: posted out of order. */
function generatedVersions(rng: Rng): StixRecord[] {
  const ids = Array.from({ length: 12 }, (_, i) => `${i % 2 === 0 ? 'indicator' : 'malware'}--${rng.uuid4()}`);
  const objs = ids.flatMap((id) =>
    Array.from({ length: 1 + rng.int(4) }, (_, v) => ({
      type: id.split('--')[0],
      id,
      spec_version: rng.next() < 0.2 ? '2.0' : '2.1',
      created: '2020-01-01T00:00:00.000Z',
      modified: `2020-0${1 + v}-0${1 + rng.int(9)}T00:00:00.${String(rng.int(1000)).padStart(3, '0')}Z`,
    })),
  );
  for (let i = objs.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [objs[i], objs[j]] = [objs[j]!, objs[i]!];
  }
  return objs.map(rec);
}

/** Every combination of match[version], match[spec_version], added_after, match[type] and match[id]. */
function filterCombinations(midUs: number, someVersion: bigint, someIds: readonly string[]): ObjectFilter[] {
  const versionChoices = [undefined, ['last'], ['first'], ['all'], ['first', 'last'], [formatTaxiiTimestamp(someVersion)]];
  const specChoices = [undefined, ['2.0'], ['2.1'], ['2.0', '2.1']];
  const cross = <T>(fs: ObjectFilter[], choices: readonly (T | undefined)[], f: (c: T) => ObjectFilter): ObjectFilter[] =>
    fs.flatMap((base) => choices.map((c) => (c === undefined ? base : { ...base, ...f(c) })));
  let filters: ObjectFilter[] = [{}];
  filters = cross(filters, versionChoices, (v) => ({ versions: parseVersionSelector(v) }));
  filters = cross(filters, specChoices, (specVersions) => ({ specVersions }));
  filters = cross(filters, [undefined, midUs], (addedAfterUs) => ({ addedAfterUs }));
  filters = cross(filters, [undefined, ['malware']], (types) => ({ types }));
  return cross(filters, [undefined, [...someIds].sort()], (ids) => ({ ids }));
}

/**
 * The ObjectStore contract: what every implementation of the port does, observed through the port
 * alone. It runs over the in-memory fake (fast unit tier) and over PostgreSQL and PGlite (libs/store).
 * Behaviour that only SQL has (statement sizes, transactions of concurrent writers, objects staged
 * in parts) is tested in libs/store/test.
 */
export function objectStoreContract(api: SuiteApi, name: string, open: () => Promise<ObjectStoreFixture>): void {
  const { describe, it, expect, beforeAll, afterAll } = api;

  describe(`object store contract on ${name}`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = new Harness(await open());
    });
    afterAll(async () => {
      await h.f.close();
    });

    it('serves the stored JSON text byte for byte, in position order, with strictly increasing date_added and seq', async () => {
      const c = await h.f.createCollection();
      const objs = [
        indicator(uid(), '2021-01-01T00:00:00.000Z', { name: 'ünïcödé ✓', x_nested: { a: [1, 2.5, null, true] } }),
        indicator(uid(), '2021-01-01T00:00:00.000Z'),
        indicator(uid(), '2020-01-02T00:00:00.000Z'),
      ];
      await h.add(c, objs.slice(0, 2));
      await h.add(c, objs.slice(2));
      const rows = await h.all(c);
      expect(rows.map((r) => r.raw)).toEqual(objs.map((o) => JSON.stringify(o)));
      expect(rows.map((r) => r.mediaType)).toEqual(objs.map(() => 'application/stix+json;version=2.1'));
      for (let i = 1; i < rows.length; i++) {
        expect(rows[i]!.dateAddedUs).toBeGreaterThan(rows[i - 1]!.dateAddedUs);
        expect(rows[i]!.seq).toBeGreaterThan(rows[i - 1]!.seq);
      }
    });

    it('stores an object handed over as UTF-8 bytes as its text, and judges a re-post in either form by content', async () => {
      const c = await h.f.createCollection();
      const o = indicator(uid(), '2021-01-01T00:00:00.000Z', { name: 'bytes ✓ \u{1f600}' });
      const first = await h.add(c, [asBytes(rec(o))]);
      expect(first.successes.map((d) => d.reason)).toEqual(['stored']);
      expect((await h.all(c))[0]?.raw).toBe(JSON.stringify(o));
      const again = await h.add(c, [rec(o), asBytes(rec({ ...o, name: 'other' }))]);
      expect(again.successes.map((d) => d.reason)).toEqual(['duplicate']);
      expect(again.failures.map((d) => d.reason)).toEqual(['conflict']);
    });

    it('stores an exactly re-posted version once and reports it as a success; different content is a conflict', async () => {
      const c = await h.f.createCollection();
      const id = uid();
      const o = indicator(id, '2021-02-01T00:00:00.000Z');
      const first = await h.add(c, [o]);
      const again = await h.add(c, [{ ...o }]);
      const changed = await h.add(c, [{ ...o, name: 'changed' }]);
      const version = '2021-02-01T00:00:00.000Z';
      expect(first.successes).toEqual([{ id, version, reason: 'stored' }]);
      expect([again.successes, again.failures]).toEqual([
        [{ id, version, message: 'duplicate: this version is already in the collection', reason: 'duplicate' }],
        [],
      ]);
      expect([changed.successes, changed.failures]).toEqual([
        [],
        [{ id, version, message: 'conflict: the collection holds different content for this version', reason: 'conflict' }],
      ]);
      expect((await h.all(c, { versions: ALL_VERSIONS })).map((r) => r.raw)).toEqual([JSON.stringify(o)]);
    });

    it('treats key order as the same content when deciding a duplicate', async () => {
      const c = await h.f.createCollection();
      const id = uid();
      await h.add(c, [{ type: 'indicator', id, spec_version: '2.1', modified: '2021-03-01T00:00:00Z', created: '2021-03-01T00:00:00Z' }]);
      const s = await h.add(c, [{ created: '2021-03-01T00:00:00Z', modified: '2021-03-01T00:00:00Z', spec_version: '2.1', id, type: 'indicator' }]);
      expect(s.failures).toEqual([]);
      expect(s.successes.map((d) => d.reason)).toEqual(['duplicate']);
    });

    it('stores a version repeated in one envelope once: a same copy is a duplicate, a different one a conflict', async () => {
      const c = await h.f.createCollection();
      const id = uid();
      const o = indicator(id, '2021-05-01T00:00:00.000Z');
      const s = await h.add(c, [o, { ...o }, { ...o, name: 'changed' }]);
      const version = '2021-05-01T00:00:00.000Z';
      expect(s.successes).toEqual([
        { id, version, reason: 'stored' },
        { id, version, message: 'duplicate: repeated in this envelope', reason: 'duplicate' },
      ]);
      expect(s.failures).toEqual([{ id, version, message: 'conflict: repeated in this envelope with different content', reason: 'conflict' }]);
      expect(await h.all(c, { versions: ALL_VERSIONS })).toHaveLength(1);
    });

    it('keeps the status details in envelope order, refused objects where they were posted, with counts that add up', async () => {
      const c = await h.f.createCollection();
      const [a, b] = [uid(), uid()];
      const invalid = { id: 'indicator--bad', version: '', message: 'missing "created"', reason: 'invalid' as const };
      const req = h.request(c, [], {
        valid: [
          { index: 2, record: rec(indicator(b, '2021-06-01T00:00:00.000Z')) },
          { index: 0, record: rec(indicator(a, '2021-06-01T00:00:00.000Z')) },
        ],
        invalid: [{ index: 1, detail: invalid }],
      });
      const s = await h.store.addObjects(req);
      expect(s).toMatchObject({ id: req.statusId, status: 'complete', requestTimestampUs: req.requestTimestampUs, totalCount: 3, pendings: [] });
      expect(s.successes.map((d) => d.id)).toEqual([a, b]);
      expect(s.failures).toEqual([invalid]);
    });

    it('gives an object without timestamps one version: its first date_added, stable on re-post', async () => {
      const c = await h.f.createCollection();
      const id = uid('ipv4-addr');
      const sco = { type: 'ipv4-addr', id, value: '198.51.100.7' };
      const s1 = await h.add(c, [sco]);
      const s2 = await h.add(c, [sco, sco]);
      const rows = await h.all(c, { ids: [id], versions: ALL_VERSIONS });
      expect(rows).toHaveLength(1);
      const version = formatTaxiiTimestamp(rows[0]!.dateAddedUs);
      expect(rows[0]!.version).toBe(version);
      expect(s1.successes).toEqual([{ id, version, reason: 'stored' }]);
      expect(s2.successes).toEqual([
        { id, version, message: 'duplicate: this version is already in the collection', reason: 'duplicate' },
        { id, version, message: 'duplicate: repeated in this envelope', reason: 'duplicate' },
      ]);
      expect((await h.all(c, { ids: [id], versions: parseVersionSelector([version]) })).length).toBe(1);
    });

    it('keeps collections apart: the same object in two collections is stored in each, with its own position', async () => {
      const [c1, c2] = [await h.f.createCollection(), await h.f.createCollection()];
      const id = uid();
      await h.add(c1, [indicator(uid(), '2021-04-01T00:00:00.000Z')]);
      expect((await h.add(c1, [indicator(id, '2021-04-01T00:00:00.000Z')])).successes[0]?.reason).toBe('stored');
      expect((await h.add(c2, [indicator(id, '2021-04-01T00:00:00.000Z')])).successes[0]?.reason).toBe('stored');
      const [a, b] = [await h.all(c1, { ids: [id] }), await h.all(c2)];
      expect([a.length, b.map((r) => r.id)]).toEqual([1, [id]]);
      expect(b[0]!.seq).toBeLessThan(a[0]!.seq);
      await h.store.deleteObject(c1, id, {});
      expect([await h.store.objectExists(c1, id), await h.store.objectExists(c2, id)]).toEqual([false, true]);
    });

    it('selects versions exactly as the reference model does, for every filter combination, before and after deletes', async () => {
      const c = await h.f.createCollection();
      const rng = new Rng(7);
      const posted = generatedVersions(rng);
      for (let i = 0; i < posted.length; i += 5) await h.add(c, posted.slice(i, i + 5));
      const stored = await h.stored(c, posted);
      expect(stored).toHaveLength(posted.length);
      const mid = stored[Math.floor(stored.length / 2)]!.dateAddedUs;
      const ids = [...new Set(stored.map((r) => r.id))];
      const filters = filterCombinations(mid, stored[3]!.versionUs, [ids[0]!, ids[3]!]);
      const compare = async (rows: readonly (VersionRow & { seq: number })[]): Promise<void> => {
        for (const f of filters) {
          const got = (await h.all(c, f)).map((r) => `${r.id}@${r.dateAddedUs}`);
          const want = selectVersions(rows, f).map((r) => `${r.id}@${r.dateAddedUs}`);
          expect(got, filterKey(f)).toEqual(want);
        }
      };
      await compare(stored);
      // Deleting the first or last version of some objects must leave the others selected as the model selects them.
      let left = stored;
      for (const id of ids.slice(0, 6)) {
        const versions = parseVersionSelector([rng.next() < 0.5 ? 'last' : 'first']);
        const victims = selectVersions(
          left.filter((r) => r.id === id),
          { versions },
        );
        expect(await h.store.deleteObject(c, id, { versions })).toBe(victims.length);
        left = left.filter((r) => !victims.includes(r));
      }
      await compare(left);
    });

    it('serves the latest version of each object when writers post versions of the same objects in parallel', async () => {
      const c = await h.f.createCollection();
      const ids = Array.from({ length: 5 }, () => uid());
      const months = ['01', '02', '03', '04', '05', '06', '07', '08'];
      const statuses = await Promise.all(
        months.map((m) =>
          h.add(
            c,
            ids.map((id) => indicator(id, `2023-${m}-01T00:00:00.000Z`)),
          ),
        ),
      );
      expect(statuses.flatMap((s) => s.failures)).toEqual([]);
      expect(await h.all(c, { ids, versions: ALL_VERSIONS })).toHaveLength(ids.length * months.length);
      const served = await h.all(c, { ids });
      expect(served.map((r) => r.version)).toEqual(ids.map(() => '2023-08-01T00:00:00.000Z'));
    });

    it('joins a page of objects exactly as the row page would be joined, with its first and last positions', async () => {
      const c = await h.f.createCollection();
      const id = uid();
      await h.add(c, [indicator(id, '2022-01-01T00:00:00.000Z'), indicator(uid(), '2022-01-01T00:00:00.000Z'), indicator(id, '2022-02-01T00:00:00.000Z')]);
      await h.add(c, [{ type: 'malware', id: uid('malware'), spec_version: '2.1', created: '2022-01-01T00:00:00Z', modified: '2022-01-01T00:00:00Z' }]);
      const filters: ObjectFilter[] = [
        {},
        { versions: ALL_VERSIONS },
        { types: ['malware'] },
        { types: ['campaign'] },
        { versions: parseVersionSelector(['first']) },
      ];
      for (const filter of filters)
        for (const limit of [1, 2, 3, 1000]) {
          const req = { collectionPk: c, filter, defaultVersions: LAST_VERSION, limit, shape: 'objects' as const };
          const rows = (await h.store.page(req)).rows;
          const more = (await h.store.page(req)).more;
          const first = rows[0];
          const last = rows[rows.length - 1];
          expect(await h.store.pageJson(req), `${filterKey(filter)} limit ${limit}`).toEqual({
            count: rows.length,
            more,
            first: first && { dateAddedUs: first.dateAddedUs, seq: first.seq },
            last: last && { dateAddedUs: last.dateAddedUs, seq: last.seq },
            json: rows.length === 0 ? undefined : rows.map((r) => r.raw).join(','),
          });
        }
    });

    it('answers an empty page for a collection without objects, and for a filter nothing matches', async () => {
      const c = await h.f.createCollection();
      const req: PageRequest = { collectionPk: c, filter: {}, defaultVersions: LAST_VERSION, limit: 10, shape: 'objects' };
      const empty = { count: 0, more: false, first: undefined, last: undefined, json: undefined };
      expect(await h.store.pageJson(req)).toEqual(empty);
      expect(await h.store.page(req)).toEqual({ rows: [], more: false });
      await h.add(c, [indicator(uid(), '2022-01-01T00:00:00.000Z')]);
      expect(await h.store.pageJson({ ...req, filter: { types: ['malware'] } })).toEqual(empty);
      expect(await h.store.objectExists(c, uid())).toBe(false);
    });

    it('stores nothing past a collection quota: new versions in envelope order up to it, duplicates still succeed', async () => {
      const quota = await h.f.createCollection({ maxObjects: 3 });
      const [a, c, d, e] = [uid(), uid(), uid(), uid()];
      const v = '2024-01-01T00:00:00.000Z';
      expect((await h.add(quota, [indicator(a, v), indicator(c, v)])).failures).toEqual([]);
      const s = await h.add(quota, [indicator(a, v), indicator(d, v), indicator(e, v)]);
      expect(s.successes.map((x) => [x.id, x.reason])).toEqual([
        [a, 'duplicate'],
        [d, 'stored'],
      ]);
      expect(s.failures).toEqual([{ id: e, version: v, message: 'quota exceeded: this collection holds at most 3 object versions', reason: 'quota' }]);
      expect((await h.all(quota, { versions: ALL_VERSIONS })).map((r) => r.id)).toEqual([a, c, d]);
      // A delete makes room again.
      expect(await h.store.deleteObject(quota, d, {})).toBe(1);
      expect((await h.add(quota, [indicator(e, v)])).failures).toEqual([]);
      expect((await h.add(quota, [indicator(d, v)])).failures.map((x) => x.reason)).toEqual(['quota']);
    });

    it('pages by position without losing or repeating a row, reports more, and ends with more false', async () => {
      const c = await h.f.createCollection();
      for (let i = 0; i < 3; i++) await h.add(c, [indicator(uid(), '2022-01-01T00:00:00.000Z'), indicator(uid(), '2022-01-01T00:00:00.000Z')]);
      const full = await h.all(c, {}, { defaultVersions: ALL_VERSIONS });
      expect(full).toHaveLength(6);
      const seen: string[] = [];
      const mores: boolean[] = [];
      let after: { dateAddedUs: number; seq: number } | undefined;
      for (let i = 0; i < 10 && (i === 0 || after !== undefined); i++) {
        const p = await h.store.page({
          collectionPk: c,
          filter: {},
          defaultVersions: ALL_VERSIONS,
          limit: 2,
          shape: 'manifest',
          ...(after !== undefined && { after }),
        });
        seen.push(...p.rows.map((r) => `${r.id}@${r.version}`));
        mores.push(p.more);
        const last = p.rows[p.rows.length - 1];
        after = p.more && last !== undefined ? { dateAddedUs: last.dateAddedUs, seq: last.seq } : undefined;
      }
      expect(seen).toEqual(full.map((r) => `${r.id}@${r.version}`));
      expect(mores).toEqual([true, true, false]);
    });

    it('restricts a page to one object, and pages its versions by position', async () => {
      const c = await h.f.createCollection();
      const id = uid();
      await h.add(c, [indicator(id, '2022-01-01T00:00:00.000Z'), indicator(uid(), '2022-01-01T00:00:00.000Z'), indicator(id, '2022-02-01T00:00:00.000Z')]);
      const all = await h.all(c, {}, { objectId: id, defaultVersions: ALL_VERSIONS });
      expect(all.map((r) => r.version)).toEqual(['2022-01-01T00:00:00.000Z', '2022-02-01T00:00:00.000Z']);
      expect((await h.all(c, {}, { objectId: id })).map((r) => r.version)).toEqual(['2022-02-01T00:00:00.000Z']);
      const rest = await h.all(c, {}, { objectId: id, defaultVersions: ALL_VERSIONS, after: { dateAddedUs: all[0]!.dateAddedUs, seq: all[0]!.seq } });
      expect(rest.map((r) => r.version)).toEqual(['2022-02-01T00:00:00.000Z']);
    });

    it('deletes every version without filters, and only the selected versions with them', async () => {
      const c = await h.f.createCollection();
      const id = uid();
      await h.add(c, [indicator(id, '2022-01-01T00:00:00.000Z'), indicator(id, '2022-02-01T00:00:00.000Z'), indicator(id, '2022-03-01T00:00:00.000Z')]);
      await h.add(c, [{ ...indicator(id, '2022-04-01T00:00:00.000Z'), spec_version: '2.0' }]);
      const versions = async (): Promise<string[]> =>
        (await h.all(c, { specVersions: ['2.0', '2.1'] }, { objectId: id, defaultVersions: ALL_VERSIONS })).map((r) => r.version);
      expect(await h.store.deleteObject(c, id, { specVersions: ['2.0'] })).toBe(1);
      expect(await h.store.deleteObject(c, id, { versions: parseVersionSelector(['first']) })).toBe(1);
      expect(await versions()).toEqual(['2022-02-01T00:00:00.000Z', '2022-03-01T00:00:00.000Z']);
      expect(await h.store.deleteObject(c, id, { versions: parseVersionSelector(['2022-01-01T00:00:00Z']) })).toBe(0);
      expect(await h.store.deleteObject(c, id, {})).toBe(2);
      expect(await h.store.objectExists(c, id)).toBe(false);
      expect(await h.store.deleteObject(c, id, {})).toBe(0);
    });

    it('keeps status resources readable by id within their API root only, with their creator, until purged', async () => {
      const c = await h.f.createCollection();
      const s = await h.add(c, [indicator(uid(), '2022-05-01T00:00:00.000Z')]);
      const got = await h.store.getStatus(h.f.apiRootPk, s.id);
      expect(got).toEqual({ ...s, principalPk: h.f.principalPk });
      expect(await h.store.getStatus(h.f.apiRootPk + 999, s.id)).toBeUndefined();
      expect(await h.store.getStatus(h.f.apiRootPk, randomUUID())).toBeUndefined();
      expect(await h.store.purgeStatuses(Date.now() * 1000 - 3_600_000_000)).toBe(0);
      expect(await h.store.getStatus(h.f.apiRootPk, s.id)).toBeDefined();
      expect(await h.store.purgeStatuses(Date.now() * 1000 + 3_600_000_000)).toBeGreaterThan(0);
      expect(await h.store.getStatus(h.f.apiRootPk, s.id)).toBeUndefined();
    });

    it('stores nothing of an envelope whose status cannot be recorded: an id that is no UUID, or one already used', async () => {
      const c = await h.f.createCollection();
      const taken = await h.add(c, [indicator(uid(), '2022-06-01T00:00:00.000Z')]);
      for (const statusId of ['not-a-uuid', taken.id]) {
        await expect(h.store.addObjects(h.request(c, [rec(indicator(uid(), '2022-06-01T00:00:00.000Z'))], { statusId }))).rejects.toThrow();
      }
      expect(await h.all(c, { versions: ALL_VERSIONS })).toHaveLength(1);
    });

    it('keeps versions one microsecond apart distinct anywhere in years 0001 to 9999, and selects each exactly', async () => {
      const c = await h.f.createCollection();
      for (const [a, b] of [
        ['0001-01-01T00:00:00.000001Z', '0001-01-01T00:00:00.000002Z'],
        ['9999-12-31T23:59:59.999998Z', '9999-12-31T23:59:59.999999Z'],
      ] as const) {
        const id = uid();
        const s = await h.add(c, [indicator(id, a, { created: a }), indicator(id, b, { created: a })]);
        expect(s.failures).toEqual([]);
        expect(s.successes.map((d) => d.version)).toEqual([a, b]);
        expect((await h.all(c, {}, { objectId: id, defaultVersions: ALL_VERSIONS })).map((r) => r.version)).toEqual([a, b]);
        expect((await h.all(c, {}, { objectId: id })).map((r) => r.version)).toEqual([b]);
        for (const v of [a, b]) expect((await h.all(c, { versions: parseVersionSelector([v]) }, { objectId: id })).map((r) => r.version)).toEqual([v]);
      }
    });
  });
}
