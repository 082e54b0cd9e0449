import { createHash } from 'node:crypto';
import type { Pool } from 'pg';
import type { DataSource, EntityManager } from 'typeorm';
import {
  canonicalJson,
  storedDetailsJsonBytes,
  formatTaxiiTimestamp,
  Pacer,
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
  Window,
  repeatVerdict,
} from '@taxiway/domain';
import { Params } from './sql';
import { allocatePositions, lockTimeline, recordAppended, recordRemoved, type TimelineQuota } from './timeline';
import { dataSourceOf, type Connection } from './database';

interface InsertedRow {
  stix_id: string;
  /** As text: exact over the whole STIX range (the driver reads bigint as a number). */
  version_us: string;
  date_added_us: number;
  had_versions: boolean;
  unversioned: boolean;
}

interface ExistingRow {
  stix_id: string;
  /** As text: exact over the whole STIX range. */
  version_us: string;
  unversioned: boolean;
  /** The stored text, if at most COMPARE_INLINE_CHARS long; else null and only its digest is fetched. */
  raw: string | null;
  /** md5 of the stored text, hex. */
  digest: string;
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
 * One statement takes the next positions of the collection's timeline (timeline.ts; the
 * transaction holds the collection's lock) and inserts the objects at them.
 */
const insertSql = (raws: string): string => `
WITH ${allocatePositions('$1', '$2')}
INSERT INTO objects AS o (collection_pk, stix_id, version_us, seq, date_added_us, type, spec_version,
                          version, unversioned, media_type, raw)
SELECT $1, u.id, COALESCE(u.vus, alloc.added0 + u.ord), alloc.seq0 + u.ord, alloc.added0 + u.ord,
       u.type, u.spec, u.ver, u.vus IS NULL, u.mt, u.raw::text
  FROM alloc,
       ROWS FROM (unnest($3::text[]), unnest($4::bigint[]), unnest($5::text[]), unnest($6::text[]), unnest($7::text[]),
                  unnest($8::text[]), ${raws})
         WITH ORDINALITY AS u(id, vus, type, spec, ver, mt, raw, ord)
ON CONFLICT DO NOTHING
RETURNING o.stix_id, o.version_us::text AS version_us, o.date_added_us, o.unversioned,
          -- whether the object had versions before this statement (its own rows are not visible here)
          EXISTS (SELECT 1 FROM objects b WHERE b.collection_pk = o.collection_pk AND b.stix_id = o.stix_id) AS had_versions`;

/**
 * The objects' JSON texts arrive as one JSON array: json_array_elements returns each element's text
 * verbatim and spares the client escaping every quote into an array literal.
 */
const INSERT_SQL = insertSql('json_array_elements($9::json)');

/** One object too large for a single statement's parameters: its text is assembled from the staged parts. */
const INSERT_STAGED_SQL = insertSql(`unnest(ARRAY[(SELECT string_agg(part, '' ORDER BY ord) FROM pg_temp.tw_raw_parts)])`);

const STAGE_SQL = `CREATE TEMP TABLE IF NOT EXISTS tw_raw_parts (ord int NOT NULL, part text NOT NULL) ON COMMIT DROP`;

/**
 * JSON characters per INSERT statement of an envelope's objects, and per staged part of a larger
 * object: the client builds each statement's parameters in one step, on the event loop.
 */
const INSERT_BATCH_CHARS = 2 * 1024 * 1024;

/** Object ids per statement that takes a list of them (an array parameter is escaped in one step). */
const IDS_PER_STATEMENT = 5000;

/** Objects whose stored text is longer are compared by digest, never fetched whole to judge a re-post. */
const COMPARE_INLINE_CHARS = 1024 * 1024;

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

/** An object version's identity: its id and exact version (text or bigint give the same digits), or "unversioned". */
function versionKey(id: string, versionUs: bigint | string | undefined): string {
  return versionUs === undefined ? `${id}\u0000u` : `${id}\u0000${versionUs}`;
}

/** One valid object of an envelope, at its position in the envelope. */
export interface StoreEntry {
  readonly index: number;
  readonly record: StixRecord;
}

/** A later copy of a version already in the envelope, with the first copy. */
interface Repeat extends StoreEntry {
  readonly first: StixRecord;
}

export interface StoreOutcome {
  ok: boolean;
  detail: StatusDetail;
}

/** StoreOutcome of each envelope position. */
export type StoreOutcomes = Map<number, StoreOutcome>;

/** What judging one distinct version of the envelope needs to know about the insert. */
interface UniqueJudgement {
  readonly insertedKeys: ReadonlySet<string>;
  /** key -> reported version of stored versions; gains the stored version of unversioned duplicates. */
  readonly stored: Map<string, string>;
  readonly existing: ReadonlyMap<string, ExistingRow>;
  readonly outcome: StoreOutcomes;
}

/** A record's JSON text: a string, or UTF-8 bytes for a large object (StixRecord.raw). */
type Raw = StixRecord['raw'];

const asBytes = (raw: Raw): Buffer => (typeof raw === 'string' ? Buffer.from(raw) : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength));
const asText = (raw: Raw): string => (typeof raw === 'string' ? raw : asBytes(raw).toString('utf8'));

/**
 * Whether two JSON texts of one version hold the same content: the same text, or the same canonical
 * JSON (keys sorted). Texts longer than COMPARE_INLINE_CHARS are compared as text only: parsing them
 * again would hold the event loop for as long as their ingest took in a worker (ADR 0012).
 */
function sameText(a: Raw, b: Raw): boolean {
  if (typeof a === 'string' && typeof b === 'string' && a === b) return true;
  if (a.length > COMPARE_INLINE_CHARS || b.length > COMPARE_INLINE_CHARS) return asBytes(a).equals(asBytes(b));
  return canonicalJson(JSON.parse(asText(a))) === canonicalJson(JSON.parse(asText(b)));
}

/** Whether a stored version holds the same content as a posted one; a long stored text is compared by digest. */
async function sameAsStored(prior: ExistingRow, raw: Raw, pacer: Pacer): Promise<boolean> {
  if (prior.raw !== null) return sameText(prior.raw, raw);
  return (await md5Paced(raw, pacer)) === prior.digest;
}

/** The md5 of a text's UTF-8 bytes (as PostgreSQL's md5() computes it), hashed in slices. */
async function md5Paced(raw: Raw, pacer: Pacer): Promise<string> {
  const h = createHash('md5');
  for (const part of rawParts(raw, INSERT_BATCH_CHARS)) {
    h.update(part);
    if (pacer.due) await pacer.yield();
  }
  return h.digest('hex');
}

/** A JSON text in consecutive parts of at most `max` characters or bytes, never splitting a character. */
function rawParts(raw: Raw, max: number): Generator<string | Buffer> {
  return typeof raw === 'string' ? textParts(raw, max) : byteParts(asBytes(raw), max);
}

/** A text in consecutive parts of at most `max` UTF-16 units, never splitting a surrogate pair. */
function* textParts(text: string, max: number): Generator<string> {
  let at = 0;
  while (at < text.length) {
    let end = Math.min(text.length, at + max);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
    yield text.slice(at, end);
    at = end;
  }
}

/** UTF-8 bytes in consecutive parts of at most `max` bytes (views, not copies), never splitting a character. */
function* byteParts(bytes: Buffer, max: number): Generator<Buffer> {
  let at = 0;
  while (at < bytes.length) {
    let end = Math.min(bytes.length, at + max);
    // Back off continuation bytes (10xxxxxx): the part ends before the character they belong to.
    while (end < bytes.length && end > at + 1 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
    yield bytes.subarray(at, end);
    at = end;
  }
}

/** Exact duplicates inside one envelope are stored once; a second, different copy is a conflict. */
async function splitRepeats(valid: readonly StoreEntry[], pacer: Pacer): Promise<{ unique: StoreEntry[]; repeats: Repeat[] }> {
  const unique: StoreEntry[] = [];
  const firstByKey = new Map<string, StixRecord>();
  const repeats: Repeat[] = [];
  for (const v of valid) {
    const key = versionKey(v.record.id, v.record.versionUs);
    const first = firstByKey.get(key);
    if (first === undefined) {
      firstByKey.set(key, v.record);
      unique.push(v);
    } else repeats.push({ ...v, first });
    if (pacer.due) await pacer.yield();
  }
  return { unique, repeats };
}

async function judgeUnique(u: StoreEntry, j: UniqueJudgement, pacer: Pacer): Promise<void> {
  const key = versionKey(u.record.id, u.record.versionUs);
  const reported = u.record.version ?? j.stored.get(key) ?? formatTaxiiTimestamp(BigInt(j.existing.get(key)?.version_us ?? 0));
  if (j.insertedKeys.has(key)) {
    j.outcome.set(u.index, { ok: true, detail: { id: u.record.id, version: reported, reason: 'stored' } });
    return;
  }
  const prior = j.existing.get(key);
  const same = prior !== undefined && (await sameAsStored(prior, u.record.raw, pacer));
  j.outcome.set(u.index, repeatVerdict(same, u.record.id, reported, 'collection'));
  if (prior !== undefined && prior.unversioned) j.stored.set(key, formatTaxiiTimestamp(BigInt(prior.version_us)));
}

async function judgeRepeats(repeats: readonly Repeat[], stored: ReadonlyMap<string, string>, outcome: StoreOutcomes, pacer: Pacer): Promise<void> {
  for (const r of repeats) {
    const key = versionKey(r.record.id, r.record.versionUs);
    const version = r.record.version ?? stored.get(key) ?? '';
    outcome.set(r.index, repeatVerdict(sameText(r.first.raw, r.record.raw), r.record.id, version, 'envelope'));
    if (pacer.due) await pacer.yield();
  }
}

/** The status details in envelope order (positions 0 .. total - 1), split into successes and failures. */
async function partition(outcome: StoreOutcomes, total: number, pacer: Pacer): Promise<{ successes: StatusDetail[]; failures: StatusDetail[] }> {
  const successes: StatusDetail[] = [];
  const failures: StatusDetail[] = [];
  for (let i = 0; i < total; i++) {
    const o = outcome.get(i);
    if (o) (o.ok ? successes : failures).push(o.detail);
    if (pacer.due) await pacer.yield();
  }
  return { successes, failures };
}

/** The keys of the versions inserted, and key -> reported version ('' if versioned, the stored one if not). */
async function insertedVersions(inserted: readonly InsertedRow[], pacer: Pacer): Promise<{ insertedKeys: Set<string>; stored: Map<string, string> }> {
  const stored = new Map<string, string>();
  const insertedKeys = new Set<string>();
  for (const r of inserted) {
    const key = versionKey(r.stix_id, r.unversioned ? undefined : r.version_us);
    insertedKeys.add(key);
    stored.set(key, r.unversioned ? formatTaxiiTimestamp(BigInt(r.version_us)) : '');
    if (pacer.due) await pacer.yield();
  }
  return { insertedKeys, stored };
}

/** The records whose version was not inserted (stored already: a duplicate or a conflict). */
async function notInserted(unique: readonly StoreEntry[], insertedKeys: ReadonlySet<string>, pacer: Pacer): Promise<StixRecord[]> {
  const out: StixRecord[] = [];
  for (const u of unique) {
    if (!insertedKeys.has(versionKey(u.record.id, u.record.versionUs))) out.push(u.record);
    if (pacer.due) await pacer.yield();
  }
  return out;
}

/** Where the INSERT statement that starts at `start` ends: about INSERT_BATCH_CHARS of JSON, at least one record. */
function nextBatch(records: readonly StixRecord[], start: number): { end: number; chars: number } {
  let end = start;
  let chars = 0;
  while (end < records.length && (end === start || chars + (records[end]?.raw.length ?? 0) <= INSERT_BATCH_CHARS)) {
    chars += records[end]?.raw.length ?? 0;
    end++;
  }
  return { end, chars };
}

/** One envelope's store: the outcome of each position, and the pacer its loops share. */
export interface StoreRun {
  readonly outcome: StoreOutcomes;
  readonly pacer: Pacer;
}

/** An INSERT's per-object columns, as arrays. */
function columns(records: readonly StixRecord[]): {
  ids: string[];
  vus: (bigint | null)[];
  types: string[];
  specs: string[];
  vers: (string | null)[];
  mts: string[];
} {
  return {
    ids: records.map((r) => r.id),
    vus: records.map((r) => r.versionUs ?? null),
    types: records.map((r) => r.type),
    specs: records.map((r) => r.specVersion),
    vers: records.map((r) => r.version ?? null),
    mts: records.map((r) => r.mediaType),
  };
}

/** The window of labels the inserted rows took. */
function span(inserted: readonly InsertedRow[]): Window {
  let first = Number.MAX_SAFE_INTEGER;
  let last = 0;
  for (const r of inserted) {
    first = Math.min(first, r.date_added_us);
    last = Math.max(last, r.date_added_us);
  }
  return Window.labels(first, last);
}

export class SqlObjectStore implements ObjectStore {
  private sinceAnalyze = 0;
  private analyzing: Promise<void> | undefined;

  private readonly pool: Pool;
  private readonly names = new Map<string, string>();

  private readonly ds: DataSource;

  constructor(db: Connection) {
    this.ds = dataSourceOf(db);
    this.pool = (this.ds.driver as unknown as { master: Pool }).master;
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

  /**
   * Stores an envelope's valid objects in one transaction and records its status. Every loop over
   * the envelope's entries runs in slices of a few milliseconds (Pacer), and every statement's
   * parameters stay under a few MiB, so a 100,000-object envelope never holds the event loop long.
   */
  async addObjects(req: AddRequest): Promise<StatusResource> {
    const pacer = new Pacer();
    const total = req.valid.length + req.invalid.length;
    const outcome: StoreOutcomes = new Map();
    for (const f of req.invalid) outcome.set(f.index, { ok: false, detail: f.detail });

    const done = await this.ds.transaction(async (em) => {
      await this.storeWithin(em, req.collectionPk, req.valid, { outcome, pacer });
      const { successes, failures } = await partition(outcome, total, pacer);
      await em.query(
        `INSERT INTO statuses (id, api_root_pk, collection_pk, principal_pk, status, request_timestamp_us, total_count, successes, failures, pendings)
         VALUES ($1, $2, $3, $4, 'complete', $5, $6, $7::text::jsonb, $8::text::jsonb, '[]'::jsonb)`,
        [
          req.statusId,
          req.apiRootPk,
          req.collectionPk,
          req.principalPk,
          req.requestTimestampUs,
          outcome.size,
          // UTF-8 bytes, sent as binary text parameters: megabytes of JSON are never encoded in one step.
          await storedDetailsJsonBytes(successes, pacer),
          await storedDetailsJsonBytes(failures, pacer),
        ],
      );
      return { successes, failures };
    });
    return {
      id: req.statusId,
      status: 'complete',
      requestTimestampUs: req.requestTimestampUs,
      totalCount: total,
      successes: done.successes,
      failures: done.failures,
      pendings: [],
    };
  }

  /**
   * Stores versions through the timeline inside a transaction the caller holds, and records each
   * entry's outcome (stored, duplicate, conflict, quota) in `run.outcome` by its index: Add Objects
   * beside its status resource, a feed's page beside its position.
   */
  async storeWithin(em: EntityManager, collectionPk: number, valid: readonly StoreEntry[], run: StoreRun): Promise<void> {
    const { unique, repeats } = await splitRepeats(valid, run.pacer);
    const stored = unique.length > 0 ? await this.storeUnique(em, collectionPk, unique, run) : new Map<string, string>();
    await judgeRepeats(repeats, stored, run.outcome, run.pacer);
  }

  /**
   * Inserts the envelope's distinct versions and records each one's outcome: stored, a duplicate of the
   * stored version, or a conflict with it. Returns key -> reported version of the stored versions ('' if versioned).
   */
  private async storeUnique(em: EntityManager, collectionPk: number, all: readonly StoreEntry[], run: StoreRun): Promise<Map<string, string>> {
    // The lock comes before the INSERT, so the INSERT's snapshot already holds every earlier writer's rows.
    const quota = await lockTimeline(em, collectionPk);
    const { allowed: unique, refused } = await this.withinQuota(em, collectionPk, all, quota);
    for (const e of refused)
      run.outcome.set(e.index, { ok: false, detail: { id: e.record.id, version: e.record.version ?? '', message: quotaMessage(quota), reason: 'quota' } });
    const inserted = await this.insert(
      em,
      collectionPk,
      unique.map((u) => u.record),
      run.pacer,
    );
    if (inserted.length > 0) await recordAppended(em, { collectionPk, count: inserted.length, window: span(inserted), stix21: true });
    const multi = await multiVersionIds(inserted, run.pacer);
    for (let at = 0; at < multi.length; at += IDS_PER_STATEMENT) await em.query(DEMOTE_SQL, [collectionPk, multi.slice(at, at + IDS_PER_STATEMENT)]);
    this.noteInserted(inserted.length);
    const { insertedKeys, stored } = await insertedVersions(inserted, run.pacer);
    const conflicted = await notInserted(unique, insertedKeys, run.pacer);
    const existing = conflicted.length > 0 ? await this.existing(em, collectionPk, conflicted, run.pacer) : new Map<string, ExistingRow>();
    const judged: UniqueJudgement = { insertedKeys, stored, existing, outcome: run.outcome };
    for (const u of unique) {
      await judgeUnique(u, judged, run.pacer);
      if (run.pacer.due) await run.pacer.yield();
    }
    return stored;
  }

  /**
   * The entries that may be stored: all of them while the collection has room (or no quota);
   * otherwise versions already stored (duplicates cost nothing) and new ones in envelope order up
   * to the quota. The rest fail with a message; nothing past the quota is stored.
   */
  private async withinQuota(em: EntityManager, collectionPk: number, entries: readonly StoreEntry[], quota: TimelineQuota | undefined): Promise<QuotaSplit> {
    const max = quota?.maxObjects ?? null;
    const used = quota?.objectCount ?? 0;
    if (max === null || entries.length <= max - used) return { allowed: entries, refused: [] };
    const existing = await this.existing(
      em,
      collectionPk,
      entries.map((e) => e.record),
    );
    return splitByQuota(entries, (e) => existing.has(versionKey(e.record.id, e.record.versionUs)), max - used);
  }

  /**
   * Inserts the records in statements of about INSERT_BATCH_CHARS of JSON each, in envelope order:
   * each statement allocates the next positions of the collection's timeline (under the lock this
   * transaction holds). A record larger than that is sent in parts to a temporary table first and
   * assembled by its own statement, so no statement's parameters make the client build one string
   * of a whole envelope or a whole huge object, which would hold up the event loop.
   */
  private async insert(em: EntityManager, collectionPk: number, records: readonly StixRecord[], pacer: Pacer): Promise<InsertedRow[]> {
    const out: InsertedRow[] = [];
    let start = 0;
    while (start < records.length) {
      const { end, chars } = nextBatch(records, start);
      const batch = records.slice(start, end);
      const rows = chars > INSERT_BATCH_CHARS ? await this.insertStaged(em, collectionPk, batch[0]!, pacer) : await this.insertBatch(em, collectionPk, batch);
      for (const row of rows) out.push(row);
      start = end;
      if (pacer.due) await pacer.yield();
    }
    return out;
  }

  private async insertBatch(em: EntityManager, collectionPk: number, records: readonly StixRecord[]): Promise<InsertedRow[]> {
    const c = columns(records);
    return em.query(INSERT_SQL, [
      collectionPk,
      records.length,
      c.ids,
      c.vus,
      c.types,
      c.specs,
      c.vers,
      c.mts,
      `[${records.map((r) => asText(r.raw)).join(',')}]`,
    ]);
  }

  /** One object larger than INSERT_BATCH_CHARS: its text goes in parts to a temporary table, then one statement stores it. */
  private async insertStaged(em: EntityManager, collectionPk: number, record: StixRecord, pacer: Pacer): Promise<InsertedRow[]> {
    await em.query(STAGE_SQL);
    await em.query(`DELETE FROM pg_temp.tw_raw_parts`);
    let ord = 0;
    // Bytes are sent as a binary parameter: PostgreSQL takes them as the text's UTF-8, nothing is encoded here.
    for (const part of rawParts(record.raw, INSERT_BATCH_CHARS)) {
      await em.query(`INSERT INTO pg_temp.tw_raw_parts (ord, part) VALUES ($1, $2)`, [ord++, part]);
      if (pacer.due) await pacer.yield();
    }
    const c = columns([record]);
    const rows: InsertedRow[] = await em.query(INSERT_STAGED_SQL, [collectionPk, 1, c.ids, c.vus, c.types, c.specs, c.vers, c.mts]);
    await em.query(`DELETE FROM pg_temp.tw_raw_parts`);
    return rows;
  }

  /**
   * The stored versions of the records' objects, looked up a few thousand ids per statement. The
   * text of each comes back only if it is short enough to compare here; a longer one by its digest.
   */
  private async existing(em: EntityManager, collectionPk: number, records: readonly StixRecord[], pacer = new Pacer()): Promise<Map<string, ExistingRow>> {
    const ids = [...new Set(records.map((r) => r.id))];
    const out = new Map<string, ExistingRow>();
    for (let at = 0; at < ids.length; at += IDS_PER_STATEMENT) {
      const rows: ExistingRow[] = await em.query(
        `SELECT stix_id, version_us::text AS version_us, unversioned, CASE WHEN length(raw) <= $3 THEN raw END AS raw, md5(raw) AS digest
           FROM objects WHERE collection_pk = $1 AND stix_id = ANY($2::text[])`,
        [collectionPk, ids.slice(at, at + IDS_PER_STATEMENT), COMPARE_INLINE_CHARS],
      );
      for (const r of rows) out.set(versionKey(r.stix_id, r.unversioned ? undefined : r.version_us), r);
      if (pacer.due) await pacer.yield();
    }
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
      await lockTimeline(em, collectionPk);
      const rows: { n: number }[] = await em.query(
        `WITH d AS (DELETE FROM objects o WHERE ${where.join(' AND ')} RETURNING 1) SELECT count(*)::int AS n FROM d`,
        p.values,
      );
      const n = rows[0]?.n ?? 0;
      if (n > 0) {
        await em.query(PROMOTE_SQL, [collectionPk, objectId]);
        await recordRemoved(em, collectionPk, n);
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

interface QuotaSplit {
  readonly allowed: readonly StoreEntry[];
  readonly refused: readonly StoreEntry[];
}

const quotaMessage = (q: TimelineQuota | undefined): string => `quota exceeded: this collection holds at most ${q?.maxObjects ?? 0} object versions`;

/** Keeps stored versions and the first `room` new ones, in order; refuses the other new ones. */
function splitByQuota(entries: readonly StoreEntry[], isStored: (e: StoreEntry) => boolean, room: number): QuotaSplit {
  const allowed: StoreEntry[] = [];
  const refused: StoreEntry[] = [];
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
async function multiVersionIds(inserted: readonly InsertedRow[], pacer: Pacer): Promise<string[]> {
  const seen = new Set<string>();
  const multi = new Set<string>();
  for (const r of inserted) {
    if (r.had_versions || seen.has(r.stix_id)) multi.add(r.stix_id);
    seen.add(r.stix_id);
    if (pacer.due) await pacer.yield();
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
