import {
  canonicalJson,
  formatTaxiiTimestamp,
  nowUs,
  selectVersions,
  ALL_VERSIONS,
  type AddRequest,
  type JoinedPage,
  type ObjectFilter,
  type ObjectStore,
  type Page,
  type PageRequest,
  type PageRow,
  type StatusDetail,
  type StatusResource,
  type StixRecord,
  type VersionRow,
  repeatVerdict,
} from '@taxiway/domain';

/** One stored object version: the columns SqlObjectStore keeps, with the JSON as text. */
interface StoredVersion extends VersionRow {
  readonly seq: number;
  /** `modified`/`created` as received; undefined for an unversioned object (its version is its first date_added). */
  readonly version: string | undefined;
  readonly mediaType: string;
  readonly raw: string;
}

interface MemoryCollection {
  /** Most object versions it may hold; undefined = no quota. */
  readonly maxObjects: number | undefined;
  lastSeq: number;
  lastAddedUs: number;
  /** In position order (date_added, seq): appended at the end, removed anywhere. */
  rows: StoredVersion[];
}

interface StoredStatus {
  readonly resource: StatusResource;
  readonly apiRootPk: number;
  readonly principalPk: number;
  readonly createdAtUs: number;
}

/** One valid object of an envelope, at its position in the envelope. */
interface Entry {
  readonly index: number;
  readonly record: StixRecord;
}

interface Outcome {
  readonly ok: boolean;
  readonly detail: StatusDetail;
}

/** Texts longer than this are compared as text only, never re-parsed (as SqlObjectStore does). */
const COMPARE_CANONICAL_CHARS = 1024 * 1024;

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

const asText = (raw: StixRecord['raw']): string => (typeof raw === 'string' ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8'));

/** An object version's identity: its id and exact version, or its id alone if it is unversioned (one version per object). */
const versionKey = (r: StixRecord): string => (r.versionUs === undefined ? `${r.id}\u0000u` : `${r.id}\u0000${r.versionUs}`);

/** Same content: the same text, or the same canonical JSON (keys sorted) for texts short enough to parse again. */
function sameContent(a: string, b: string): boolean {
  if (a === b) return true;
  if (a.length > COMPARE_CANONICAL_CHARS || b.length > COMPARE_CANONICAL_CHARS) return false;
  return canonicalJson(JSON.parse(a)) === canonicalJson(JSON.parse(b));
}

/** Version as reported: `modified`/`created` as received, else the first date_added. */
const reportedVersion = (r: StoredVersion): string => r.version ?? formatTaxiiTimestamp(r.versionUs);

/**
 * An ObjectStore held in memory: the reference model of the storage contract
 * (object-store-contract.ts), which SqlObjectStore passes too. Each collection has one total order
 * (date_added µs, then seq) in which versions are appended; version selection is selectVersions()
 * of libs/domain; re-posts are judged as SqlObjectStore judges them (status details, messages and
 * reasons alike). Everything an add does happens before it returns, so it is atomic by construction.
 */
export class MemoryObjectStore implements ObjectStore {
  private readonly collections = new Map<number, MemoryCollection>();
  private readonly statuses = new Map<string, StoredStatus>();
  private nextCollectionPk = 1;

  /** Makes an empty collection and returns its pk; `maxObjects` is its quota of object versions. */
  createCollection(opts: { readonly maxObjects?: number } = {}): number {
    const pk = this.nextCollectionPk++;
    this.collections.set(pk, { maxObjects: opts.maxObjects, lastSeq: 0, lastAddedUs: 0, rows: [] });
    return pk;
  }

  /** Object versions the collection holds (what its quota counts). */
  objectCount(collectionPk: number): number {
    return this.collections.get(collectionPk)?.rows.length ?? 0;
  }

  addObjects(req: AddRequest): Promise<StatusResource> {
    // Everything that can fail is checked before anything is stored.
    if (!UUID_RE.test(req.statusId)) return Promise.reject(new Error(`status id ${JSON.stringify(req.statusId)} is not a UUID`));
    if (this.statuses.has(req.statusId.toLowerCase())) return Promise.reject(new Error(`status ${req.statusId} exists already`));
    const c = this.collections.get(req.collectionPk);
    if (c === undefined) return Promise.reject(new Error(`no collection ${req.collectionPk}`));

    const outcome = new Map<number, Outcome>();
    for (const f of req.invalid) outcome.set(f.index, { ok: false, detail: f.detail });
    const { unique, repeats } = splitRepeats(req.valid);
    const stored = this.storeUnique(c, unique, outcome);
    for (const r of repeats) {
      const version = r.record.version ?? stored.get(versionKey(r.record)) ?? '';
      outcome.set(r.index, repeatVerdict(sameContent(asText(r.first.raw), asText(r.record.raw)), r.record.id, version, 'envelope'));
    }
    const total = req.valid.length + req.invalid.length;
    const resource: StatusResource = {
      id: req.statusId,
      status: 'complete',
      requestTimestampUs: req.requestTimestampUs,
      totalCount: total,
      ...partition(outcome, total),
      pendings: [],
    };
    this.statuses.set(req.statusId.toLowerCase(), { resource, apiRootPk: req.apiRootPk, principalPk: req.principalPk, createdAtUs: nowUs() });
    return Promise.resolve(resource);
  }

  /**
   * Appends the envelope's distinct versions that are new and within the quota, and judges the
   * others against the stored version. Returns key -> reported version of each version now stored
   * ('' if versioned, the stored one if not), for judging the envelope's repeats.
   */
  private storeUnique(c: MemoryCollection, unique: readonly Entry[], outcome: Map<number, Outcome>): Map<string, string> {
    const stored = new Map<string, string>();
    for (const e of this.refusedByQuota(c, unique)) {
      outcome.set(e.index, {
        ok: false,
        detail: { id: e.record.id, version: e.record.version ?? '', message: quotaMessage(c.maxObjects), reason: 'quota' },
      });
    }
    for (const e of unique) {
      if (outcome.has(e.index)) continue;
      const key = versionKey(e.record);
      const prior = findVersion(c, e.record);
      if (prior === undefined) {
        const row = append(c, e.record);
        stored.set(key, row.version === undefined ? reportedVersion(row) : '');
        outcome.set(e.index, { ok: true, detail: { id: row.id, version: reportedVersion(row), reason: 'stored' } });
      } else {
        if (prior.version === undefined) stored.set(key, reportedVersion(prior));
        outcome.set(
          e.index,
          repeatVerdict(sameContent(prior.raw, asText(e.record.raw)), e.record.id, e.record.version ?? reportedVersion(prior), 'collection'),
        );
      }
    }
    return stored;
  }

  /** New versions past the quota, in envelope order: stored versions (duplicates or conflicts) cost nothing. */
  private refusedByQuota(c: MemoryCollection, unique: readonly Entry[]): Entry[] {
    if (c.maxObjects === undefined) return [];
    let room = c.maxObjects - c.rows.length;
    const refused: Entry[] = [];
    for (const e of unique) {
      if (findVersion(c, e.record) !== undefined) continue;
      if (room > 0) room--;
      else refused.push(e);
    }
    return refused;
  }

  page(req: PageRequest): Promise<Page> {
    const rows = this.select(req);
    return Promise.resolve({
      more: rows.length > req.limit,
      rows: rows.slice(0, req.limit).map((r): PageRow => ({
        id: r.id,
        dateAddedUs: r.dateAddedUs,
        seq: r.seq,
        version: reportedVersion(r),
        mediaType: r.mediaType,
        ...(req.shape === 'objects' && { raw: r.raw }),
      })),
    });
  }

  pageJson(req: PageRequest): Promise<JoinedPage> {
    const all = this.select(req);
    const rows = all.slice(0, req.limit);
    const first = rows[0];
    const last = rows[rows.length - 1];
    return Promise.resolve({
      count: rows.length,
      more: all.length > req.limit,
      first: first && { dateAddedUs: first.dateAddedUs, seq: first.seq },
      last: last && { dateAddedUs: last.dateAddedUs, seq: last.seq },
      json: rows.length === 0 ? undefined : rows.map((r) => r.raw).join(','),
    });
  }

  /** The page's selection in position order: object, filters and version selection, then the rows past `after`. */
  private select(req: PageRequest): StoredVersion[] {
    const rows = this.collections.get(req.collectionPk)?.rows ?? [];
    const candidates = req.objectId === undefined ? rows : rows.filter((r) => r.id === req.objectId);
    const selected = selectVersions(candidates, req.filter, req.defaultVersions);
    const after = req.after;
    return after === undefined
      ? selected
      : selected.filter((r) => r.dateAddedUs > after.dateAddedUs || (r.dateAddedUs === after.dateAddedUs && r.seq > after.seq));
  }

  objectExists(collectionPk: number, objectId: string): Promise<boolean> {
    return Promise.resolve(this.collections.get(collectionPk)?.rows.some((r) => r.id === objectId) ?? false);
  }

  deleteObject(collectionPk: number, objectId: string, filter: ObjectFilter): Promise<number> {
    const c = this.collections.get(collectionPk);
    if (c === undefined) return Promise.resolve(0);
    const versions = c.rows.filter((r) => r.id === objectId);
    // Without match[version] or match[spec_version] every version goes; with them, the selected ones (all by default).
    const victims = new Set(filter.versions === undefined && filter.specVersions === undefined ? versions : selectVersions(versions, filter, ALL_VERSIONS));
    c.rows = c.rows.filter((r) => !victims.has(r));
    return Promise.resolve(victims.size);
  }

  getStatus(apiRootPk: number, statusId: string): Promise<(StatusResource & { readonly principalPk: number }) | undefined> {
    const s = this.statuses.get(statusId.toLowerCase());
    if (s === undefined || s.apiRootPk !== apiRootPk) return Promise.resolve(undefined);
    return Promise.resolve({ ...s.resource, id: statusId, principalPk: s.principalPk });
  }

  purgeStatuses(olderThanUs: number): Promise<number> {
    let n = 0;
    for (const [id, s] of this.statuses) {
      if (s.createdAtUs < olderThanUs) {
        this.statuses.delete(id);
        n++;
      }
    }
    return Promise.resolve(n);
  }
}

/** The stored version with the record's identity (its exact version; the one version of an unversioned object). */
function findVersion(c: MemoryCollection, record: StixRecord): StoredVersion | undefined {
  return c.rows.find(
    (r) => r.id === record.id && (record.versionUs === undefined ? r.version === undefined : r.version !== undefined && r.versionUs === record.versionUs),
  );
}

/**
 * Appends a version at the collection's next position: the next seq, and a date_added strictly after
 * the last one and not before now. An unversioned object's version is its date_added.
 */
function append(c: MemoryCollection, record: StixRecord): StoredVersion {
  c.lastSeq += 1;
  c.lastAddedUs = Math.max(c.lastAddedUs + 1, nowUs());
  const row: StoredVersion = {
    id: record.id,
    type: record.type,
    specVersion: record.specVersion,
    versionUs: record.versionUs ?? BigInt(c.lastAddedUs),
    dateAddedUs: c.lastAddedUs,
    seq: c.lastSeq,
    version: record.version,
    mediaType: record.mediaType,
    raw: asText(record.raw),
  };
  c.rows.push(row);
  return row;
}

/** The first copy of each version in the envelope, and the later copies with the first one they repeat. */
function splitRepeats(valid: readonly Entry[]): { unique: Entry[]; repeats: (Entry & { readonly first: StixRecord })[] } {
  const unique: Entry[] = [];
  const repeats: (Entry & { readonly first: StixRecord })[] = [];
  const firstByKey = new Map<string, StixRecord>();
  for (const v of valid) {
    const first = firstByKey.get(versionKey(v.record));
    if (first === undefined) {
      firstByKey.set(versionKey(v.record), v.record);
      unique.push(v);
    } else repeats.push({ ...v, first });
  }
  return { unique, repeats };
}

/** The status details in envelope order, split into successes and failures. */
function partition(outcome: ReadonlyMap<number, Outcome>, total: number): { successes: StatusDetail[]; failures: StatusDetail[] } {
  const successes: StatusDetail[] = [];
  const failures: StatusDetail[] = [];
  for (let i = 0; i < total; i++) {
    const o = outcome.get(i);
    if (o) (o.ok ? successes : failures).push(o.detail);
  }
  return { successes, failures };
}

const quotaMessage = (max: number | undefined): string => `quota exceeded: this collection holds at most ${max ?? 0} object versions`;
