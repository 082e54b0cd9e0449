import { createHash } from 'node:crypto';
import type { Pool } from 'pg';
import type { DataSource, EntityManager } from 'typeorm';
import {
  canonicalJson,
  formatTaxiiTimestamp,
  type AddRequest,
  type ObjectFilter,
  type ObjectStore,
  type JoinedPage,
  type Page,
  type PageRequest,
  type PageRow,
  type StatusDetail,
  type StatusResource,
  type StixRecord,
  type VersionSelector,
} from '@taxiway/domain';
import { Params } from './sql';
import { enqueuePushes } from './taxii1-store';

interface InsertedRow {
  stix_id: string;
  version_us: number;
  date_added_us: number;
  had_versions: boolean;
  unversioned: boolean;
}

interface ExistingRow {
  stix_id: string;
  version_us: number;
  unversioned: boolean;
  raw: string;
}

interface JoinedRow {
  n: number;
  json: string;
  first_added: number;
  first_seq: number;
  last_added: number;
  last_seq: number;
}

interface ListedRow {
  stix_id: string;
  date_added_us: number;
  seq: number;
  version: string | null;
  version_us: number;
  media_type: string;
  raw?: string;
}

/**
 * One statement allocates the next positions of a collection and inserts the envelope's objects.
 * The UPDATE takes the collection row's lock and holds it to commit, so positions are handed out in
 * commit order and no object can become visible behind a cursor or date-added header a reader
 * already has (ADR 0002). date_added is wall-clock µs, bumped to stay strictly increasing.
 */
const INSERT_SQL = `
WITH alloc AS (
  UPDATE collections
     SET last_seq = last_seq + $2,
         last_added_us = GREATEST(last_added_us + $2,
                                  (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::bigint + $2 - 1)
   WHERE pk = $1
  RETURNING last_seq - $2 AS seq0, last_added_us - $2 AS added0
)
INSERT INTO objects AS o (collection_pk, stix_id, version_us, seq, date_added_us, type, spec_version,
                          version, unversioned, media_type, raw)
SELECT $1, u.id, COALESCE(u.vus, alloc.added0 + u.ord), alloc.seq0 + u.ord, alloc.added0 + u.ord,
       u.type, u.spec, u.ver, u.vus IS NULL, u.mt, u.raw::text
  FROM alloc,
       -- The objects' JSON texts arrive as one JSON array: json_array_elements returns each element's
       -- text verbatim and spares the client escaping every quote into an array literal.
       ROWS FROM (unnest($3::text[]), unnest($4::bigint[]), unnest($5::text[]), unnest($6::text[]), unnest($7::text[]),
                  unnest($8::text[]), json_array_elements($9::json))
         WITH ORDINALITY AS u(id, vus, type, spec, ver, mt, raw, ord)
ON CONFLICT DO NOTHING
RETURNING o.stix_id, o.version_us, o.date_added_us, o.unversioned,
          -- whether the object had versions before this statement (its own rows are not visible here)
          EXISTS (SELECT 1 FROM objects b WHERE b.collection_pk = o.collection_pk AND b.stix_id = o.stix_id) AS had_versions`;

/** JSON bytes per INSERT statement of an envelope's objects. */
const INSERT_BATCH_BYTES = 8 * 1024 * 1024;

/**
 * Takes the collection's write lock before the INSERT, so that the INSERT's snapshot (taken when the
 * statement starts) already contains everything committed by writers that held the lock before us.
 */
const LOCK_SQL = `SELECT object_count, max_objects FROM collections WHERE pk = $1 FOR NO KEY UPDATE`;

/** Clears `latest` on versions outranked by another version of the same object (run under the collection lock). */
const DEMOTE_SQL = `
UPDATE objects o SET latest = false
 WHERE o.collection_pk = $1 AND o.stix_id = ANY($2::text[]) AND o.latest
   AND EXISTS (SELECT 1 FROM objects b
                WHERE b.collection_pk = o.collection_pk AND b.stix_id = o.stix_id
                  AND (b.spec_version > o.spec_version OR (b.spec_version = o.spec_version AND b.version_us > o.version_us)))`;

/** Sets `latest` on the top-ranked remaining version of an object after a delete. */
const PROMOTE_SQL = `
UPDATE objects o SET latest = true
 WHERE o.collection_pk = $1 AND o.stix_id = $2 AND NOT o.latest
   AND NOT EXISTS (SELECT 1 FROM objects b
                    WHERE b.collection_pk = o.collection_pk AND b.stix_id = o.stix_id
                      AND (b.spec_version > o.spec_version OR (b.spec_version = o.spec_version AND b.version_us > o.version_us)))`;

/** Rows inserted before the statistics are refreshed (PGlite has no autovacuum; PostgreSQL's may lag a bulk load). */
const ANALYZE_EVERY = 20_000;

const versionOf = (r: { version: string | null; version_us: number }): string => r.version ?? formatTaxiiTimestamp(r.version_us);

function versionKey(id: string, versionUs: number | undefined): string {
  return versionUs === undefined ? `${id}\u0000u` : `${id}\u0000${versionUs}`;
}

/** One valid object of an envelope, at its position in the envelope. */
interface Entry {
  readonly index: number;
  readonly record: StixRecord;
}

/** A later copy of a version already in the envelope, with the first copy. */
interface Repeat extends Entry {
  readonly first: StixRecord;
}

interface Outcome {
  ok: boolean;
  detail: StatusDetail;
}

/** Outcome of each envelope position. */
type Outcomes = Map<number, Outcome>;

/** What judging one distinct version of the envelope needs to know about the insert. */
interface UniqueJudgement {
  readonly insertedKeys: ReadonlySet<string>;
  /** key -> reported version of stored versions; gains the stored version of unversioned duplicates. */
  readonly stored: Map<string, string>;
  readonly existing: ReadonlyMap<string, ExistingRow>;
  readonly outcome: Outcomes;
}

/** Status messages of a copy that matches (duplicate) or differs from (conflict) the one it repeats. */
interface Verdicts {
  readonly duplicate: string;
  readonly conflict: string;
}

const AGAINST_COLLECTION: Verdicts = {
  duplicate: 'duplicate: this version is already in the collection',
  conflict: 'conflict: the collection holds different content for this version',
};

const AGAINST_ENVELOPE: Verdicts = {
  duplicate: 'duplicate: repeated in this envelope',
  conflict: 'conflict: repeated in this envelope with different content',
};

const sameContent = (a: string, b: string): boolean => canonicalJson(JSON.parse(a)) === canonicalJson(JSON.parse(b));

function verdict(same: boolean, id: string, version: string, verdicts: Verdicts): Outcome {
  return same ? { ok: true, detail: { id, version, message: verdicts.duplicate } } : { ok: false, detail: { id, version, message: verdicts.conflict } };
}

/** Exact duplicates inside one envelope are stored once; a second, different copy is a conflict. */
function splitRepeats(valid: readonly Entry[]): { unique: Entry[]; repeats: Repeat[] } {
  const unique: Entry[] = [];
  const firstByKey = new Map<string, StixRecord>();
  const repeats: Repeat[] = [];
  for (const v of valid) {
    const key = versionKey(v.record.id, v.record.versionUs);
    const first = firstByKey.get(key);
    if (first === undefined) {
      firstByKey.set(key, v.record);
      unique.push(v);
    } else repeats.push({ ...v, first });
  }
  return { unique, repeats };
}

function judgeUnique(u: Entry, j: UniqueJudgement): void {
  const key = versionKey(u.record.id, u.record.versionUs);
  const reported = u.record.version ?? j.stored.get(key) ?? formatTaxiiTimestamp(j.existing.get(key)?.version_us ?? 0);
  if (j.insertedKeys.has(key)) {
    j.outcome.set(u.index, { ok: true, detail: { id: u.record.id, version: reported } });
    return;
  }
  const prior = j.existing.get(key);
  const same = prior !== undefined && sameContent(prior.raw, u.record.raw);
  j.outcome.set(u.index, verdict(same, u.record.id, reported, AGAINST_COLLECTION));
  if (prior !== undefined && prior.unversioned) j.stored.set(key, formatTaxiiTimestamp(prior.version_us));
}

function judgeRepeats(repeats: readonly Repeat[], stored: ReadonlyMap<string, string>, outcome: Outcomes): void {
  for (const r of repeats) {
    const key = versionKey(r.record.id, r.record.versionUs);
    const version = r.record.version ?? stored.get(key) ?? '';
    outcome.set(r.index, verdict(sameContent(r.first.raw, r.record.raw), r.record.id, version, AGAINST_ENVELOPE));
  }
}

/** The status details in envelope order, split into successes and failures. */
function partition(outcome: Outcomes): { successes: StatusDetail[]; failures: StatusDetail[] } {
  const successes: StatusDetail[] = [];
  const failures: StatusDetail[] = [];
  for (const i of [...outcome.keys()].sort((a, b) => a - b)) {
    const o = outcome.get(i);
    if (o) (o.ok ? successes : failures).push(o.detail);
  }
  return { successes, failures };
}

/** Counts new rows against the quota and queues them for TAXII 1.x push subscriptions that take STIX 2.1. */
async function countInserted(em: EntityManager, collectionPk: number, inserted: readonly InsertedRow[]): Promise<void> {
  await em.query(`UPDATE collections SET object_count = object_count + $2 WHERE pk = $1`, [collectionPk, inserted.length]);
  let first = Number.MAX_SAFE_INTEGER;
  let last = 0;
  for (const r of inserted) {
    first = Math.min(first, r.date_added_us);
    last = Math.max(last, r.date_added_us);
  }
  await enqueuePushes(em, { collectionPk, afterUs: first - 1, throughUs: last, stix21: true });
}

export class SqlObjectStore implements ObjectStore {
  private sinceAnalyze = 0;
  private analyzing: Promise<void> | undefined;

  private readonly pool: Pool;
  private readonly names = new Map<string, string>();

  constructor(private readonly ds: DataSource) {
    this.pool = (ds.driver as unknown as { master: Pool }).master;
  }

  /**
   * Hot read paths bypass TypeORM's per-query QueryRunner and run as named prepared statements on the
   * driver's pool, so PostgreSQL parses and plans each distinct statement shape once per connection.
   */
  private async read<R>(sql: string, values: unknown[]): Promise<R[]> {
    let name = this.names.get(sql);
    if (name === undefined) {
      name = `tw_${createHash('sha1').update(sql).digest('hex').slice(0, 16)}`;
      if (this.names.size < 10_000) this.names.set(sql, name);
    }
    const res = await this.pool.query({ name, text: sql, values });
    return res.rows as R[];
  }

  /** Refreshes planner statistics in the background after bulk ingest, one ANALYZE at a time. */
  private noteInserted(n: number): void {
    this.sinceAnalyze += n;
    if (this.sinceAnalyze < ANALYZE_EVERY || this.analyzing !== undefined) return;
    this.sinceAnalyze = 0;
    this.analyzing = this.ds
      .query('ANALYZE objects')
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => {
        this.analyzing = undefined;
      });
  }

  async addObjects(req: AddRequest): Promise<StatusResource> {
    const outcome: Outcomes = new Map();
    for (const f of req.invalid) outcome.set(f.index, { ok: false, detail: f.detail });
    const { unique, repeats } = splitRepeats(req.valid);

    const done = await this.ds.transaction(async (em) => {
      const stored = unique.length > 0 ? await this.storeUnique(em, req.collectionPk, unique, outcome) : new Map<string, string>();
      judgeRepeats(repeats, stored, outcome);
      const { successes, failures } = partition(outcome);
      await em.query(
        `INSERT INTO statuses (id, api_root_pk, collection_pk, principal_pk, status, request_timestamp_us, total_count, successes, failures, pendings)
         VALUES ($1, $2, $3, $4, 'complete', $5, $6, $7::jsonb, $8::jsonb, '[]'::jsonb)`,
        [
          req.statusId,
          req.apiRootPk,
          req.collectionPk,
          req.principalPk,
          req.requestTimestampUs,
          outcome.size,
          JSON.stringify(successes),
          JSON.stringify(failures),
        ],
      );
      return { successes, failures };
    });
    return {
      id: req.statusId,
      status: 'complete',
      requestTimestampUs: req.requestTimestampUs,
      totalCount: req.valid.length + req.invalid.length,
      successes: done.successes,
      failures: done.failures,
      pendings: [],
    };
  }

  /**
   * Inserts the envelope's distinct versions and records each one's outcome: stored, a duplicate of the
   * stored version, or a conflict with it. Returns key -> reported version of the stored versions ('' if versioned).
   */
  private async storeUnique(em: EntityManager, collectionPk: number, all: readonly Entry[], outcome: Outcomes): Promise<Map<string, string>> {
    const stored = new Map<string, string>();
    const [quota] = await em.query<QuotaRow[]>(LOCK_SQL, [collectionPk]);
    const { allowed: unique, refused } = await this.withinQuota(em, collectionPk, all, quota);
    for (const e of refused) outcome.set(e.index, { ok: false, detail: { id: e.record.id, version: e.record.version ?? '', message: quotaMessage(quota) } });
    const inserted = await this.insert(
      em,
      collectionPk,
      unique.map((u) => u.record),
    );
    if (inserted.length > 0) await countInserted(em, collectionPk, inserted);
    const multi = multiVersionIds(inserted);
    if (multi.length > 0) await em.query(DEMOTE_SQL, [collectionPk, multi]);
    this.noteInserted(inserted.length);
    const insertedKeys = new Set<string>();
    for (const r of inserted) {
      const key = versionKey(r.stix_id, r.unversioned ? undefined : r.version_us);
      insertedKeys.add(key);
      stored.set(key, r.unversioned ? formatTaxiiTimestamp(r.version_us) : '');
    }
    const conflicted = unique.filter((u) => !insertedKeys.has(versionKey(u.record.id, u.record.versionUs)));
    const existing =
      conflicted.length > 0
        ? await this.existing(
            em,
            collectionPk,
            conflicted.map((c) => c.record),
          )
        : new Map<string, ExistingRow>();
    const judged: UniqueJudgement = { insertedKeys, stored, existing, outcome };
    for (const u of unique) judgeUnique(u, judged);
    return stored;
  }

  /**
   * The entries that may be stored: all of them while the collection has room (or no quota);
   * otherwise versions already stored (duplicates cost nothing) and new ones in envelope order up
   * to the quota. The rest fail with a message; nothing past the quota is stored.
   */
  private async withinQuota(em: EntityManager, collectionPk: number, entries: readonly Entry[], quota: QuotaRow | undefined): Promise<QuotaSplit> {
    const max = quota?.max_objects ?? null;
    const used = quota?.object_count ?? 0;
    if (max === null || entries.length <= max - used) return { allowed: entries, refused: [] };
    const existing = await this.existing(
      em,
      collectionPk,
      entries.map((e) => e.record),
    );
    return splitByQuota(entries, (e) => existing.has(versionKey(e.record.id, e.record.versionUs)), max - used);
  }

  /**
   * Inserts the records in statements of about INSERT_BATCH_BYTES of JSON each, in envelope order:
   * each statement allocates the next positions of the collection's timeline (under the lock this
   * transaction holds), and no single statement's parameters make the client build one string of
   * the whole envelope, which would hold up the event loop.
   */
  private async insert(em: EntityManager, collectionPk: number, records: readonly StixRecord[]): Promise<InsertedRow[]> {
    const out: InsertedRow[] = [];
    let start = 0;
    while (start < records.length) {
      let end = start;
      let bytes = 0;
      while (end < records.length && (end === start || bytes + (records[end]?.raw.length ?? 0) <= INSERT_BATCH_BYTES)) {
        bytes += records[end]?.raw.length ?? 0;
        end++;
      }
      for (const row of await this.insertBatch(em, collectionPk, records.slice(start, end))) out.push(row);
      start = end;
    }
    return out;
  }

  private async insertBatch(em: EntityManager, collectionPk: number, records: readonly StixRecord[]): Promise<InsertedRow[]> {
    const n = records.length;
    const ids = new Array<string>(n),
      vus = new Array<number | null>(n),
      typesA = new Array<string>(n),
      specs = new Array<string>(n);
    const vers = new Array<string | null>(n),
      mts = new Array<string>(n),
      raws = new Array<string>(n);
    records.forEach((r, i) => {
      ids[i] = r.id;
      vus[i] = r.versionUs ?? null;
      typesA[i] = r.type;
      specs[i] = r.specVersion;
      vers[i] = r.version ?? null;
      mts[i] = r.mediaType;
      raws[i] = r.raw;
    });
    return em.query(INSERT_SQL, [collectionPk, n, ids, vus, typesA, specs, vers, mts, `[${raws.join(',')}]`]);
  }

  private async existing(em: EntityManager, collectionPk: number, records: readonly StixRecord[]): Promise<Map<string, ExistingRow>> {
    const rows: ExistingRow[] = await em.query(
      `SELECT stix_id, version_us, unversioned, raw FROM objects WHERE collection_pk = $1 AND stix_id = ANY($2::text[])`,
      [collectionPk, [...new Set(records.map((r) => r.id))]],
    );
    const out = new Map<string, ExistingRow>();
    for (const r of rows) out.set(versionKey(r.stix_id, r.unversioned ? undefined : r.version_us), r);
    return out;
  }

  async page(req: PageRequest): Promise<Page> {
    const p = new Params();
    const where = pageWhere(p, req);
    const cols = `o.stix_id, o.date_added_us, o.seq, o.version, o.version_us, o.media_type${req.shape === 'objects' ? ', o.raw' : ''}`;
    const sql = `SELECT ${cols} FROM objects o WHERE ${where} ORDER BY o.date_added_us, o.seq LIMIT ${p.add(req.limit + 1)}`;
    const rows = await this.read<ListedRow>(sql, p.values);
    const more = rows.length > req.limit;
    if (more) rows.length = req.limit;
    return {
      more,
      rows: rows.map((r): PageRow => ({
        id: r.stix_id,
        dateAddedUs: r.date_added_us,
        seq: r.seq,
        version: versionOf(r),
        mediaType: r.media_type,
        ...(r.raw !== undefined && { raw: r.raw }),
      })),
    };
  }

  async pageJson(req: PageRequest): Promise<JoinedPage> {
    const p = new Params();
    const where = pageWhere(p, req);
    const limit = p.add(req.limit);
    // One row back: the first `limit` objects joined with commas, the positions of the first and last
    // of them, and whether a further object exists (the page reads limit + 1 rows).
    const sql = `WITH page AS (
        SELECT o.raw, o.date_added_us, o.seq FROM objects o WHERE ${where}
         ORDER BY o.date_added_us, o.seq LIMIT ${limit}::int + 1)
      SELECT count(*)::int AS n,
             array_to_string((array_agg(raw ORDER BY date_added_us, seq))[1:${limit}::int], ',') AS json,
             (array_agg(date_added_us ORDER BY date_added_us, seq))[1] AS first_added,
             (array_agg(seq ORDER BY date_added_us, seq))[1] AS first_seq,
             (array_agg(date_added_us ORDER BY date_added_us, seq))[least(count(*)::int, ${limit}::int)] AS last_added,
             (array_agg(seq ORDER BY date_added_us, seq))[least(count(*)::int, ${limit}::int)] AS last_seq
        FROM page`;
    const [r] = await this.read<JoinedRow>(sql, p.values);
    if (r === undefined || r.n === 0) return { count: 0, more: false, first: undefined, last: undefined, json: undefined };
    return {
      count: Math.min(r.n, req.limit),
      more: r.n > req.limit,
      first: { dateAddedUs: r.first_added, seq: r.first_seq },
      last: { dateAddedUs: r.last_added, seq: r.last_seq },
      json: r.json,
    };
  }

  async objectExists(collectionPk: number, objectId: string): Promise<boolean> {
    const rows = await this.read<{ x: number }>(`SELECT 1 AS x FROM objects WHERE collection_pk = $1 AND stix_id = $2 LIMIT 1`, [collectionPk, objectId]);
    return rows.length > 0;
  }

  async deleteObject(collectionPk: number, objectId: string, filter: ObjectFilter): Promise<number> {
    const p = new Params();
    const where = [`o.collection_pk = ${p.add(collectionPk)}`, `o.stix_id = ${p.add(objectId)}`];
    if (filter.versions !== undefined || filter.specVersions !== undefined) {
      where.push(...narrow(p, 'o', filter), selection(p, filter, filter.versions ?? { all: true, first: false, last: false, exact: [] }));
    }
    return this.ds.transaction(async (em) => {
      // Same lock as writers: keeps the latest flags consistent with concurrent adds.
      await em.query(`SELECT 1 FROM collections WHERE pk = $1 FOR NO KEY UPDATE`, [collectionPk]);
      const rows: { n: number }[] = await em.query(
        `WITH d AS (DELETE FROM objects o WHERE ${where.join(' AND ')} RETURNING 1) SELECT count(*)::int AS n FROM d`,
        p.values,
      );
      const n = rows[0]?.n ?? 0;
      if (n > 0) {
        await em.query(PROMOTE_SQL, [collectionPk, objectId]);
        await em.query(`UPDATE collections SET object_count = object_count - $2 WHERE pk = $1`, [collectionPk, n]);
      }
      return n;
    });
  }

  async getStatus(apiRootPk: number, statusId: string): Promise<(StatusResource & { principalPk: number }) | undefined> {
    const rows: {
      status: 'complete' | 'pending';
      request_timestamp_us: number;
      total_count: number;
      successes: StatusDetail[];
      failures: StatusDetail[];
      pendings: StatusDetail[];
      principal_pk: number;
    }[] = await this.ds.query(
      `SELECT status, request_timestamp_us, total_count, successes, failures, pendings, principal_pk FROM statuses WHERE id = $1 AND api_root_pk = $2`,
      [statusId, apiRootPk],
    );
    const r = rows[0];
    if (r === undefined) return undefined;
    return {
      id: statusId,
      status: r.status,
      requestTimestampUs: r.request_timestamp_us,
      totalCount: r.total_count,
      successes: r.successes,
      failures: r.failures,
      pendings: r.pendings,
      principalPk: r.principal_pk,
    };
  }

  async purgeStatuses(olderThanUs: number): Promise<number> {
    const rows: { n: number }[] = await this.ds.query(
      `WITH d AS (DELETE FROM statuses WHERE created_at < to_timestamp($1::double precision / 1000000) RETURNING 1) SELECT count(*)::int AS n FROM d`,
      [olderThanUs],
    );
    return rows[0]?.n ?? 0;
  }
}

interface QuotaRow {
  object_count: number;
  max_objects: number | null;
}

interface QuotaSplit {
  readonly allowed: readonly Entry[];
  readonly refused: readonly Entry[];
}

const quotaMessage = (q: QuotaRow | undefined): string => `quota exceeded: this collection holds at most ${q?.max_objects ?? 0} object versions`;

/** Keeps stored versions and the first `room` new ones, in order; refuses the other new ones. */
function splitByQuota(entries: readonly Entry[], isStored: (e: Entry) => boolean, room: number): QuotaSplit {
  const allowed: Entry[] = [];
  const refused: Entry[] = [];
  let left = Math.max(0, room);
  for (const e of entries) {
    if (isStored(e)) allowed.push(e);
    else if (left > 0) {
      left--;
      allowed.push(e);
    } else refused.push(e);
  }
  return { allowed, refused };
}

/** The WHERE clause of a page: collection, object, row filters, version selection, position. */
function pageWhere(p: Params, req: PageRequest): string {
  const where = [`o.collection_pk = ${p.add(req.collectionPk)}`];
  if (req.objectId !== undefined) where.push(`o.stix_id = ${p.add(req.objectId)}`);
  where.push(...narrow(p, 'o', req.filter), selection(p, req.filter, req.filter.versions ?? req.defaultVersions));
  if (req.after !== undefined) where.push(`(o.date_added_us, o.seq) > (${p.add(req.after.dateAddedUs)}::bigint, ${p.add(req.after.seq)}::bigint)`);
  return where.join(' AND ');
}

/**
 * Ids whose `latest` flags may need fixing after an insert: objects that already had versions, and
 * objects with more than one version in this envelope. A new object with one version is latest.
 */
function multiVersionIds(inserted: readonly InsertedRow[]): string[] {
  const seen = new Set<string>();
  const multi = new Set<string>();
  for (const r of inserted) {
    if (r.had_versions || seen.has(r.stix_id)) multi.add(r.stix_id);
    seen.add(r.stix_id);
  }
  return [...multi];
}

/** `col = $n` for one value (the planner estimates it without statistics), `= ANY($n)` for several. */
function anyOf(p: Params, col: string, values: readonly string[]): string {
  return values.length === 1 ? `${col} = ${p.add(values[0])}` : `${col} = ANY(${p.add(values)}::text[])`;
}

/** Row conditions that do not depend on other versions of the object. */
function narrow(p: Params, a: string, f: ObjectFilter): string[] {
  const out: string[] = [];
  if (f.addedAfterUs !== undefined) out.push(`${a}.date_added_us > ${p.add(f.addedAfterUs)}::bigint`);
  if (f.ids !== undefined) out.push(anyOf(p, `${a}.stix_id`, f.ids));
  if (f.types !== undefined) out.push(anyOf(p, `${a}.type`, f.types));
  if (f.specVersions !== undefined) out.push(anyOf(p, `${a}.spec_version`, f.specVersions));
  return out;
}

/** Probes into the other versions of the row's object (alias `b`) that also pass the row filters. */
interface Probes {
  readonly p: Params;
  readonly f: ObjectFilter;
  /** No spec_version filter: only the latest spec version of each object is selected. */
  readonly defaultSpec: boolean;
  exists(cond: string): string;
  /** With the default spec version, a row flagged latest passes the probe whatever the filters. */
  orLatest(probe: string): string;
}

function probes(p: Params, f: ObjectFilter): Probes {
  // Parameters are registered only if a probe is emitted: an unused $n has no type and fails.
  let probeNarrow: string[] | undefined;
  const defaultSpec = f.specVersions === undefined;
  return {
    p,
    f,
    defaultSpec,
    exists: (cond: string): string => {
      probeNarrow ??= narrow(p, 'b', {
        ...(f.addedAfterUs !== undefined && { addedAfterUs: f.addedAfterUs }),
        ...(f.specVersions !== undefined && { specVersions: f.specVersions }),
      });
      return `EXISTS (SELECT 1 FROM objects b WHERE b.collection_pk = o.collection_pk AND b.stix_id = o.stix_id AND ${[...probeNarrow, cond].join(' AND ')})`;
    },
    // With the default spec version, a row flagged latest outranks every other version of its object,
    // so it passes both probes whatever the filters; without added_after the filtered versions of an
    // object are all its versions, so "last" is exactly the flag.
    orLatest: (probe: string): string => (defaultSpec ? `(o.latest OR ${probe})` : probe),
  };
}

/**
 * Version selection (spec D§9.5) as probes into the other versions of the same object that also pass
 * the row filters: the latest spec version by default, then first/last/exact/all. The reference model
 * is selectVersions() in libs/domain; the storage tests compare both on generated data.
 */
function selection(p: Params, f: ObjectFilter, sel: VersionSelector): string {
  const probe = probes(p, f);
  const parts: string[] = [];
  if (probe.defaultSpec) parts.push(probe.orLatest(`NOT ${probe.exists('b.spec_version > o.spec_version')}`));
  if (!sel.all) parts.push(disjunction(versionChoices(probe, sel)));
  return parts.length === 0 ? 'TRUE' : parts.join(' AND ');
}

/** The first/last/exact conditions a row may meet, in that order (last, first, exact). */
function versionChoices(probe: Probes, sel: VersionSelector): string[] {
  const sameSpec = probe.defaultSpec ? 'b.spec_version = o.spec_version AND ' : '';
  const choices: string[] = [];
  if (sel.last) choices.push(lastVersion(probe, sameSpec));
  if (sel.first) choices.push(`NOT ${probe.exists(`${sameSpec}b.version_us < o.version_us`)}`);
  if (sel.exact.length > 0) choices.push(`o.version_us = ANY(${probe.p.add(sel.exact)}::bigint[])`);
  return choices;
}

function lastVersion(probe: Probes, sameSpec: string): string {
  if (probe.defaultSpec && probe.f.addedAfterUs === undefined) return 'o.latest';
  return probe.orLatest(`NOT ${probe.exists(`${sameSpec}b.version_us > o.version_us`)}`);
}

/** Conditions joined with OR: FALSE for none, the condition itself for one. */
function disjunction(choices: readonly string[]): string {
  return choices.length === 0 ? 'FALSE' : choices.length === 1 ? (choices[0] ?? 'FALSE') : `(${choices.join(' OR ')})`;
}
