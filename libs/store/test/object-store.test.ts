import { randomUUID } from 'node:crypto';
import * as vitest from 'vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_VERSIONS, LAST_VERSION, validateStixObject, type AddRequest, type CollectionInfo, type ObjectFilter, type StixRecord } from '@taxiway/domain';
import { migrate, migrationsAtHead, SqlObjectStore } from '@taxiway/store';
import { minimalIndicator as indicator, objectStoreContract } from '@taxiway/testing';
import { BACKENDS, openObjectStoreFixture, state, type Backend } from './backends';

const MT = ['application/stix+json'];

function rec(o: Record<string, unknown>): StixRecord {
  const v = validateStixObject(o, MT);
  if (!v.ok) throw new Error(v.message);
  return v.record;
}

const uid = (t = 'indicator'): string => `${t}--${randomUUID()}`;

// What every ObjectStore does (libs/testing), on each SQL backend.
for (const backend of BACKENDS) objectStoreContract(vitest, backend.name, () => openObjectStoreFixture(backend));

/** What only the SQL store has: migrations, statement sizes, concurrent transactions, the `latest` flag, objects staged in parts. */
describe.each(BACKENDS)('SQL object store on $name', (backend) => {
  let b: Backend;
  let store: SqlObjectStore;
  let coll: CollectionInfo;
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
    [coll] = cat.collections as [CollectionInfo];
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
