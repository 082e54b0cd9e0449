import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ALL_VERSIONS,
  LAST_VERSION,
  filterKey,
  formatTaxiiTimestamp,
  parseVersionSelector,
  selectVersions,
  validateStixObject,
  type AddRequest,
  type CollectionInfo,
  type ObjectFilter,
  type StixRecord,
  type VersionRow,
} from '@taxiway/domain';
import { migrate, migrationsAtHead, SqlObjectStore } from '@taxiway/store';
import { minimalIndicator as indicator, Rng } from '@taxiway/testing';
import { BACKENDS, state, type Backend } from './backends';

const MT = ['application/stix+json'];

function rec(o: Record<string, unknown>): StixRecord {
  const v = validateStixObject(o, MT);
  if (!v.ok) throw new Error(v.message);
  return v.record;
}

const uid = (t = 'indicator'): string => `${t}--${randomUUID()}`;

describe.each(BACKENDS)('object store on $name', (backend) => {
  let b: Backend;
  let store: SqlObjectStore;
  let coll: CollectionInfo;
  let other: CollectionInfo;
  let rootPk: number;

  const add = (objs: Record<string, unknown>[], c: CollectionInfo = coll): ReturnType<SqlObjectStore['addObjects']> => {
    const req: AddRequest = {
      statusId: randomUUID(),
      apiRootPk: rootPk,
      collectionPk: c.pk,
      principalPk: 1,
      requestTimestampUs: Date.now() * 1000,
      valid: objs.map((o, index) => ({ index, record: rec(o) })),
      invalid: [],
    };
    return store.addObjects(req);
  };
  const all = async (c: CollectionInfo, filter: ObjectFilter = {}, objectId?: string, defaults = LAST_VERSION) =>
    (await store.page({ collectionPk: c.pk, filter, defaultVersions: defaults, limit: 100_000, shape: 'objects', ...(objectId !== undefined && { objectId }) }))
      .rows;

  beforeAll(async () => {
    b = await backend.open();
    await b.catalog.applyDesiredState(state(), { prune: true });
    const cat = await b.catalog.loadCatalog();
    [coll, other] = cat.collections as [CollectionInfo, CollectionInfo];
    rootPk = cat.roots[0]?.pk ?? 0;
    store = new SqlObjectStore(b.ds);
  });
  afterAll(async () => {
    await b.close();
  });

  it('applies migrations once; running them again changes nothing', async () => {
    expect(await migrate(b.ds)).toEqual([]);
    expect(await migrationsAtHead(b.ds)).toBe(true);
  });

  it('serves the stored JSON text byte for byte, in date_added order, with strictly increasing date_added', async () => {
    const objs = [
      indicator(uid(), '2021-01-01T00:00:00.000Z', { name: 'ünïcödé ✓', x_nested: { a: [1, 2.5, null, true] } }),
      indicator(uid(), '2021-01-01T00:00:00.000Z'),
    ];
    await add(objs);
    await add([indicator(uid(), '2021-01-02T00:00:00.000Z')]);
    const rows = await all(coll);
    expect(rows.slice(0, 2).map((r) => r.raw)).toEqual(objs.map((o) => JSON.stringify(o)));
    for (let i = 1; i < rows.length; i++) expect(rows[i]!.dateAddedUs).toBeGreaterThan(rows[i - 1]!.dateAddedUs);
  });

  it('stores an envelope larger than one INSERT batch in order, with one timeline and the latest version of each object', async () => {
    const pad = 'p'.repeat(400_000);
    const ids = Array.from({ length: 30 }, () => uid());
    // 60 versions of 400 KB (24 MB: three statements), the two versions of each object 30 apart.
    const objs = [
      ...ids.map((id) => indicator(id, '2024-01-01T00:00:00.000Z', { description: pad })),
      ...ids.map((id) => indicator(id, '2024-02-01T00:00:00.000Z', { description: pad })),
    ];
    const before = (await b.ds.query<{ object_count: number }[]>(`SELECT object_count FROM collections WHERE pk = $1`, [coll.pk]))[0]!.object_count;
    const status = await add(objs);
    expect(status.successes).toHaveLength(60);
    const after = (await b.ds.query<{ object_count: number }[]>(`SELECT object_count FROM collections WHERE pk = $1`, [coll.pk]))[0]!.object_count;
    expect(after - before).toBe(60);
    const rows = (await all(coll)).filter((r) => ids.includes(r.id));
    expect(rows.map((r) => r.id)).toEqual(ids);
    expect(rows.every((r) => r.version === '2024-02-01T00:00:00.000Z')).toBe(true);
    const versions = (await all(coll, {}, undefined, ALL_VERSIONS)).filter((r) => ids.includes(r.id));
    const added = versions.map((r) => r.dateAddedUs);
    expect([...added].sort((x, y) => x - y)).toEqual(added);
    expect(new Set(added).size).toBe(60);
  });

  it('stores an exactly re-posted version once and reports it as a success; different content is a conflict', async () => {
    const id = uid();
    const o = indicator(id, '2021-02-01T00:00:00.000Z');
    const first = await add([o]);
    const again = await add([{ ...o }, { ...o, name: 'changed' }]);
    expect(first.successes).toEqual([{ id, version: '2021-02-01T00:00:00.000Z', reason: 'stored' }]);
    expect(again.successes).toEqual([{ id, version: '2021-02-01T00:00:00.000Z', message: expect.stringContaining('duplicate'), reason: 'duplicate' }]);
    expect(again.failures).toEqual([{ id, version: '2021-02-01T00:00:00.000Z', message: expect.stringContaining('conflict'), reason: 'conflict' }]);
    expect((await all(coll, { ids: [id] }, undefined, ALL_VERSIONS)).length).toBe(1);
  });

  it('treats key order as the same content when deciding a duplicate', async () => {
    const id = uid();
    await add([{ type: 'indicator', id, spec_version: '2.1', modified: '2021-03-01T00:00:00Z', created: '2021-03-01T00:00:00Z' }]);
    const s = await add([{ created: '2021-03-01T00:00:00Z', modified: '2021-03-01T00:00:00Z', spec_version: '2.1', id, type: 'indicator' }]);
    expect(s.failures).toEqual([]);
  });

  it('gives an object without timestamps one version: its first date_added, stable on re-post', async () => {
    const id = `ipv4-addr--${randomUUID()}`;
    const sco = { type: 'ipv4-addr', id, value: '198.51.100.7' };
    const s1 = await add([sco]);
    const s2 = await add([sco]);
    const rows = await all(coll, { ids: [id] }, undefined, ALL_VERSIONS);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.version).toBe(formatTaxiiTimestamp(rows[0]!.dateAddedUs));
    expect(s1.successes[0]!.version).toBe(rows[0]!.version);
    expect(s2.successes[0]).toMatchObject({ version: rows[0]!.version, message: expect.stringContaining('duplicate') });
    expect((await all(coll, { ids: [id], versions: parseVersionSelector([rows[0]!.version]) })).length).toBe(1);
  });

  it('keeps collections apart: the same object in two collections has two date_added values', async () => {
    const o = indicator(uid(), '2021-04-01T00:00:00.000Z');
    await add([o], coll);
    await add([o], other);
    const a = await all(coll, { ids: [o['id'] as string] });
    const c = await all(other, { ids: [o['id'] as string] });
    expect(a).toHaveLength(1);
    expect(c).toHaveLength(1);
    expect((await all(other)).every((r) => r.id !== a[0]!.id || r.dateAddedUs === c[0]!.dateAddedUs)).toBe(true);
  });

  it('selects versions exactly as the reference model does, for every filter combination', async () => {
    // A dedicated collection with generated multi-version, multi-spec-version objects posted out of order.
    await b.catalog.applyDesiredState(state(['c1', 'c2', 'model']), { prune: true });
    const model = (await b.catalog.loadCatalog()).collections.find((c) => c.name === 'model')!;
    const rng = new Rng(7);
    const ids = Array.from({ length: 12 }, (_, i) => `${i % 2 === 0 ? 'indicator' : 'malware'}--${rng.uuid4()}`);
    const objs: Record<string, unknown>[] = [];
    for (const id of ids) {
      const n = 1 + rng.int(4);
      for (let v = 0; v < n; v++) {
        const spec = rng.next() < 0.2 ? '2.0' : '2.1';
        objs.push({
          type: id.split('--')[0],
          id,
          spec_version: spec,
          created: '2020-01-01T00:00:00.000Z',
          modified: `2020-0${1 + v}-0${1 + rng.int(9)}T00:00:00.${String(rng.int(1000)).padStart(3, '0')}Z`,
        });
      }
    }
    for (let i = objs.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [objs[i], objs[j]] = [objs[j]!, objs[i]!];
    }
    for (let i = 0; i < objs.length; i += 5) await add(objs.slice(i, i + 5), model);
    const stored: (VersionRow & { seq: number })[] = (
      await b.ds.query(`SELECT stix_id, type, spec_version, version_us::text AS version_us, date_added_us, seq FROM objects WHERE collection_pk = $1`, [
        model.pk,
      ])
    ).map((r: { stix_id: string; type: string; spec_version: string; version_us: string; date_added_us: number; seq: number }) => ({
      id: r.stix_id,
      type: r.type,
      specVersion: r.spec_version,
      versionUs: BigInt(r.version_us),
      dateAddedUs: r.date_added_us,
      seq: r.seq,
    }));
    const mid = [...stored].sort((x, y) => x.dateAddedUs - y.dateAddedUs)[Math.floor(stored.length / 2)]!.dateAddedUs;
    const someVersion = stored[3]!.versionUs;
    const versionChoices = [undefined, ['last'], ['first'], ['all'], ['first', 'last'], [formatTaxiiTimestamp(someVersion)]];
    const filters: ObjectFilter[] = [];
    for (const versions of versionChoices)
      for (const specVersions of [undefined, ['2.0'], ['2.1'], ['2.0', '2.1']])
        for (const addedAfterUs of [undefined, mid])
          for (const types of [undefined, ['malware']])
            filters.push({
              ...(versions !== undefined && { versions: parseVersionSelector(versions) }),
              ...(specVersions !== undefined && { specVersions }),
              ...(addedAfterUs !== undefined && { addedAfterUs }),
              ...(types !== undefined && { types }),
            });
    const compare = async (rows: typeof stored) => {
      for (const f of filters) {
        const got = (await all(model, f)).map((r) => `${r.id}@${r.dateAddedUs}`);
        const want = selectVersions(rows, f).map((r) => `${r.id}@${r.dateAddedUs}`);
        expect(got, filterKey(f)).toEqual(want);
      }
    };
    await compare(stored);
    // Deleting the top version of some objects must hand "latest" to the next one down.
    let left = stored;
    for (const id of ids.slice(0, 6)) {
      const sel = parseVersionSelector([rng.next() < 0.5 ? 'last' : 'first']);
      const victims = selectVersions(
        left.filter((r) => r.id === id),
        { versions: sel },
      );
      await store.deleteObject(model.pk, id, { versions: sel });
      left = left.filter((r) => !victims.includes(r));
    }
    await compare(left);
  });

  it('keeps exactly one latest version per object when writers post versions of the same objects in parallel', async () => {
    const ids = Array.from({ length: 5 }, () => uid());
    const months = ['01', '02', '03', '04', '05', '06', '07', '08'];
    await Promise.all(months.map((m) => add(ids.map((id) => indicator(id, `2023-${m}-01T00:00:00.000Z`)))));
    const rows: { stix_id: string; version: string; latest: boolean }[] = await b.ds.query(
      `SELECT stix_id, version, latest FROM objects WHERE collection_pk = $1 AND stix_id = ANY($2::text[])`,
      [coll.pk, ids],
    );
    expect(rows).toHaveLength(ids.length * months.length);
    for (const id of ids) {
      const latest = rows.filter((r) => r.stix_id === id && r.latest).map((r) => r.version);
      expect(latest, id).toEqual(['2023-08-01T00:00:00.000Z']);
    }
    const served = await all(coll, { ids });
    expect(served.map((r) => r.version)).toEqual(ids.map(() => '2023-08-01T00:00:00.000Z'));
  });

  // PGlite runs one statement at a time: there is no concurrent writer to wait for.
  if (backend.name === 'postgresql')
    it('sees a version committed by the writer it waited for, and demotes it (no snapshot race)', async () => {
      const id = uid();
      const other = b.ds.createQueryRunner();
      await other.connect();
      await other.startTransaction();
      // Another writer holds the collection lock and has stored version 1, not yet committed.
      await other.query(`UPDATE collections SET last_seq = last_seq + 1, last_added_us = last_added_us + 1 WHERE pk = $1`, [coll.pk]);
      await other.query(
        `INSERT INTO objects (collection_pk, stix_id, version_us, seq, date_added_us, type, spec_version, version, unversioned, media_type, raw)
       SELECT $1, $2, 1, last_seq, last_added_us, 'indicator', '2.1', '1970-01-01T00:00:00.000001Z', false, 'application/stix+json;version=2.1', '{}' FROM collections WHERE pk = $1`,
        [coll.pk, id],
      );
      const pending = add([indicator(id, '2023-01-01T00:00:00.000Z')]);
      await new Promise((r) => setTimeout(r, 300));
      await other.commitTransaction();
      await other.release();
      await pending;
      const rows: { version_us: number; latest: boolean }[] = await b.ds.query(
        `SELECT version_us, latest FROM objects WHERE collection_pk = $1 AND stix_id = $2 ORDER BY version_us`,
        [coll.pk, id],
      );
      expect(rows.map((r) => r.latest)).toEqual([false, true]);
    });

  it('joins a page of objects in the database exactly as the row page would be joined', async () => {
    const filters: ObjectFilter[] = [{}, { versions: ALL_VERSIONS }, { types: ['malware'] }, { versions: parseVersionSelector(['first']) }];
    for (const filter of filters)
      for (const limit of [1, 2, 5, 1000]) {
        const req = { collectionPk: coll.pk, filter, defaultVersions: LAST_VERSION, limit, shape: 'objects' as const };
        const rows = await store.page(req);
        const joined = await store.pageJson(req);
        const first = rows.rows[0];
        const last = rows.rows[rows.rows.length - 1];
        expect(joined, `${JSON.stringify(filter)} limit ${limit}`).toEqual({
          count: rows.rows.length,
          more: rows.more,
          first: first && { dateAddedUs: first.dateAddedUs, seq: first.seq },
          last: last && { dateAddedUs: last.dateAddedUs, seq: last.seq },
          json: rows.rows.length === 0 ? undefined : rows.rows.map((r) => r.raw).join(','),
        });
      }
  });

  it('stores nothing past a collection quota: new versions in envelope order up to it, duplicates still succeed', async () => {
    const base = state(['c1', 'c2', 'model']);
    await b.catalog.applyDesiredState(
      { ...base, collections: [...base.collections, { ...base.collections[0]!, name: 'quota', alias: 'quota', maxObjects: 3 }] },
      { prune: true },
    );
    const quota = (await b.catalog.loadCatalog()).collections.find((c) => c.name === 'quota')!;
    const [a, c, d, e] = [uid(), uid(), uid(), uid()];
    expect((await add([indicator(a, '2024-01-01T00:00:00.000Z'), indicator(c, '2024-01-01T00:00:00.000Z')], quota)).failures).toEqual([]);
    const s = await add([indicator(a, '2024-01-01T00:00:00.000Z'), indicator(d, '2024-01-01T00:00:00.000Z'), indicator(e, '2024-01-01T00:00:00.000Z')], quota);
    expect(s.successes.map((x) => x.id)).toEqual([a, d]);
    expect(s.failures).toEqual([
      { id: e, version: '2024-01-01T00:00:00.000Z', message: 'quota exceeded: this collection holds at most 3 object versions', reason: 'quota' },
    ]);
    const count = async () => (await b.ds.query<{ object_count: number }[]>(`SELECT object_count FROM collections WHERE pk = $1`, [quota.pk]))[0]?.object_count;
    expect(await count()).toBe(3);
    expect((await all(quota, {}, undefined, ALL_VERSIONS)).length).toBe(3);
    await store.deleteObject(quota.pk, d, {});
    expect(await count()).toBe(2);
    expect((await add([indicator(e, '2024-01-01T00:00:00.000Z')], quota)).failures).toEqual([]);
  });

  it('pages by position without losing or repeating a row, and reports more', async () => {
    const full = await all(coll, {}, undefined, ALL_VERSIONS);
    const seen: string[] = [];
    let after: { dateAddedUs: number; seq: number } | undefined;
    for (let i = 0; i < 100; i++) {
      const p = await store.page({
        collectionPk: coll.pk,
        filter: {},
        defaultVersions: ALL_VERSIONS,
        limit: 2,
        shape: 'manifest',
        ...(after !== undefined && { after }),
      });
      seen.push(...p.rows.map((r) => `${r.id}@${r.version}`));
      const last = p.rows[p.rows.length - 1];
      if (!p.more || last === undefined) break;
      expect(p.rows).toHaveLength(2);
      after = { dateAddedUs: last.dateAddedUs, seq: last.seq };
    }
    expect(seen).toEqual(full.map((r) => `${r.id}@${r.version}`));
  });

  it('deletes every version without filters, and only the selected versions with them', async () => {
    const id = uid();
    await add([indicator(id, '2022-01-01T00:00:00.000Z'), indicator(id, '2022-02-01T00:00:00.000Z'), indicator(id, '2022-03-01T00:00:00.000Z')]);
    expect(await store.deleteObject(coll.pk, id, { versions: parseVersionSelector(['first']) })).toBe(1);
    expect((await all(coll, {}, id, ALL_VERSIONS)).map((r) => r.version)).toEqual(['2022-02-01T00:00:00.000Z', '2022-03-01T00:00:00.000Z']);
    expect(await store.deleteObject(coll.pk, id, {})).toBe(2);
    expect(await store.objectExists(coll.pk, id)).toBe(false);
    expect(await store.deleteObject(coll.pk, id, {})).toBe(0);
  });

  it('keeps status resources with counts that add up, readable by id within the API root only', async () => {
    const s = await add([indicator(uid(), '2022-05-01T00:00:00.000Z')]);
    const got = await store.getStatus(rootPk, s.id);
    expect(got).toMatchObject({ id: s.id, status: 'complete', totalCount: 1, successes: s.successes, failures: [], pendings: [] });
    expect(await store.getStatus(rootPk + 999, s.id)).toBeUndefined();
    expect(await store.purgeStatuses(Date.now() * 1000 - 3_600_000_000)).toBe(0);
    expect(await store.purgeStatuses(Date.now() * 1000 + 3_600_000_000)).toBeGreaterThan(0);
    expect(await store.getStatus(rootPk, s.id)).toBeUndefined();
  });

  it('rolls back the whole envelope and its status when the transaction fails', async () => {
    const before = (await all(coll, {}, undefined, ALL_VERSIONS)).length;
    const bad: AddRequest = {
      statusId: 'not-a-uuid',
      apiRootPk: rootPk,
      collectionPk: coll.pk,
      principalPk: 1,
      requestTimestampUs: 0,
      valid: [{ index: 0, record: rec(indicator(uid(), '2022-06-01T00:00:00.000Z')) }],
      invalid: [],
    };
    await expect(store.addObjects(bad)).rejects.toThrow();
    expect((await all(coll, {}, undefined, ALL_VERSIONS)).length).toBe(before);
  });

  it('keeps versions one microsecond apart distinct anywhere in years 0001 to 9999, and selects each exactly', async () => {
    for (const [a, b] of [
      ['0001-01-01T00:00:00.000001Z', '0001-01-01T00:00:00.000002Z'],
      ['9999-12-31T23:59:59.999998Z', '9999-12-31T23:59:59.999999Z'],
    ]) {
      const id = uid();
      const s = await add([indicator(id, a, { created: a }), indicator(id, b, { created: a })]);
      expect(s.failures).toEqual([]);
      expect(s.successes.map((d) => d.version)).toEqual([a, b]);
      const versions = (await all(coll, {}, id, ALL_VERSIONS)).map((r) => r.version);
      expect(versions).toEqual([a, b]);
      expect((await all(coll, {}, id)).map((r) => r.version)).toEqual([b]);
      for (const v of [a!, b!]) expect((await all(coll, { versions: parseVersionSelector([v]) }, id)).map((r) => r.version)).toEqual([v]);
    }
  });

  describe('objects larger than one statement', () => {
    // Multi-byte characters everywhere, so 2 MiB parts fall inside characters (UTF-16 surrogate pairs and UTF-8 sequences).
    const big = (id: string, fill: string): Record<string, unknown> =>
      indicator(id, '2021-03-01T00:00:00.000Z', { description: fill.repeat(Math.ceil((5 * 1024 * 1024) / fill.length)) });
    const asBytesRecord = (o: Record<string, unknown>): StixRecord => {
      const r = rec(o);
      return { ...r, raw: Buffer.from(r.raw as string) };
    };
    const addRecords = (records: StixRecord[]): ReturnType<SqlObjectStore['addObjects']> =>
      store.addObjects({
        statusId: randomUUID(),
        apiRootPk: rootPk,
        collectionPk: coll.pk,
        principalPk: 1,
        requestTimestampUs: Date.now() * 1000,
        valid: records.map((record, index) => ({ index, record })),
        invalid: [],
      });

    it('stores a 5 MiB object given as text or as UTF-8 bytes byte for byte, and judges re-posts by content', async () => {
      const asText = big(uid(), 'a\u{1f600}é✓');
      const asBytes = big(uid(), '\u{1f600}xé');
      const first = await addRecords([rec(asText), asBytesRecord(asBytes), rec(indicator(uid(), '2021-03-01T00:00:00.000Z'))]);
      expect(first.successes.map((d) => d.message)).toEqual([undefined, undefined, undefined]);
      for (const o of [asText, asBytes]) expect((await all(coll, {}, o['id'] as string))[0]?.raw).toBe(JSON.stringify(o));

      // The same content again (text or bytes) is a duplicate; other content under the same version is a conflict.
      const changed = { ...asBytes, description: `${String(asBytes['description'])}!` };
      const again = await addRecords([asBytesRecord(asText), rec(asBytes), asBytesRecord(changed)]);
      expect(again.successes.map((d) => d.message)).toEqual([expect.stringMatching(/^duplicate/), expect.stringMatching(/^duplicate/)]);
      expect(again.failures.map((d) => d.message)).toEqual([expect.stringMatching(/^conflict/)]);
      expect((await all(coll, {}, asBytes['id'] as string))[0]?.raw).toBe(JSON.stringify(asBytes));
    });

    it('judges a large object repeated in one envelope by its bytes', async () => {
      const o = big(uid(), 'b✓');
      const changed = { ...o, description: `${String(o['description'])}?` };
      const s = await addRecords([asBytesRecord(o), asBytesRecord(o), asBytesRecord(changed)]);
      expect(s.successes.map((d) => d.message)).toEqual([undefined, expect.stringMatching(/^duplicate: repeated/)]);
      expect(s.failures.map((d) => d.message)).toEqual([expect.stringMatching(/^conflict: repeated/)]);
    });
  });
});
