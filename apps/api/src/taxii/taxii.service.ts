import { randomUUID } from 'node:crypto';
import {
  ALL_VERSIONS,
  CursorCodec,
  DomainError,
  filterFromKey,
  filterKey,
  formatTaxiiTimestamp,
  LAST_VERSION,
  notFound,
  nowUs,
  parseListQuery,
  statusJsonBytes,
  type ApiRootInfo,
  type CollectionInfo,
  type Endpoint,
  type CursorState,
  type ListQuery,
  type JoinedPage,
  type ObjectStore,
  type Page,
  type PageRow,
  type PageRequest,
  type RawQuery,
  type StatusDetail,
  type VersionSelector,
  type AuditAction,
  type AuditEntry,
  type AuditSink,
} from '@taxiway/domain';
import type { TaxiiContext } from '../tenancy/request-context';
import { bodyOf, type EnvelopeBody, type EnvelopePreparer } from '../ingest/ingest-pool';

function auditEntry(
  ctx: Required<TaxiiContext>,
  e: { action: AuditAction; endpoint: string; objectCount: number; statusId?: string; detail?: string },
): AuditEntry {
  return {
    at: new Date(),
    apiRoot: ctx.root.path,
    collection: ctx.collection.name,
    principal: ctx.principal.name,
    action: e.action,
    endpoint: e.endpoint,
    objectCount: e.objectCount,
    statusId: e.statusId,
    detail: e.detail,
  };
}

/** The filter part of a query, for the audit (the opaque next token is left out). */
function querySummary(query: RawQuery): string | undefined {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(query)) if (k !== 'next' && v !== undefined) parts.push(`${k}=${String(v)}`);
  return parts.length === 0 ? undefined : parts.join(' ').slice(0, 500);
}

export interface TaxiiResponse {
  readonly status: number;
  readonly body: string | Buffer | undefined;
  readonly headers: Readonly<Record<string, string>>;
  /** Objects served or ingested by this request (for the request log). */
  readonly objects?: number;
}

/** Why an object of an envelope was refused, for the metrics. */
export type IngestFailureReason = 'invalid' | 'conflict' | 'quota';

/** Sharing volume, as the metrics count it (implemented over libs/metrics; a no-op in unit tests). */
export interface SharingMeter {
  ingested(ctx: Required<TaxiiContext>, r: { readonly objects: number; readonly failures: Readonly<Record<IngestFailureReason, number>> }): void;
  served(ctx: Required<TaxiiContext>, endpoint: string, r: { readonly objects: number }): void;
}

/** What observes the service's work: the audit log and the metrics. */
export interface Observers {
  readonly audit: AuditSink;
  readonly meter: SharingMeter;
}

/** Failures by reason, for the metrics: the structured reason of each detail (conflict and quota from the store, else validation). */
function failureCounts(failures: readonly StatusDetail[]): Record<IngestFailureReason, number> {
  const counts: Record<IngestFailureReason, number> = { invalid: 0, conflict: 0, quota: 0 };
  for (const f of failures) counts[f.reason === 'conflict' || f.reason === 'quota' ? f.reason : 'invalid']++;
  return counts;
}

export interface PagingSettings {
  readonly defaultPageSize: number;
  readonly maxPageSize: number;
  /** Objects one envelope may hold (413 past it, before any is validated). */
  readonly maxObjectsPerEnvelope: number;
  /** Record reads in the audit log too (writes are always recorded). */
  readonly auditReads: boolean;
}

type ListEndpoint = Exclude<Endpoint, 'delete'>;

const isUuid = (s: string): boolean => /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(s);

/** The TAXII 2.1 collection operations: parse → store → pre-serialized TAXII body. */
export class TaxiiService {
  constructor(
    private readonly ports: { readonly objects: ObjectStore; readonly preparer: EnvelopePreparer },
    private readonly cursors: CursorCodec,
    private readonly paging: PagingSettings,
    private readonly observers: Observers,
  ) {}

  private get audit(): AuditSink {
    return this.observers.audit;
  }

  /** Get Objects, Get Object Manifests, Get an Object, Get Object Versions (the read grant was enforced by the tenancy hook). */
  async list(ctx: Required<TaxiiContext>, endpoint: ListEndpoint, query: RawQuery, objectId?: string): Promise<TaxiiResponse> {
    const q = parseListQuery(query, endpoint, this.paging.maxPageSize);
    const scope = `${endpoint}:${ctx.collection.id}:${objectId ?? ''}`;
    const principal = String(ctx.principal.pk);
    const cursor = this.openCursor(q, scope, principal);
    const request: PageRequest = {
      collectionPk: ctx.collection.pk,
      ...(objectId !== undefined && { objectId }),
      filter: cursor === undefined ? q.filter : filterFromKey(cursor.filter),
      defaultVersions: defaultVersionsOf(endpoint),
      ...(cursor !== undefined && { after: { dateAddedUs: cursor.dateAddedUs, seq: cursor.seq } }),
      limit: this.pageSize(q.limit, cursor),
      shape: returnsObjects(endpoint) ? 'objects' : 'manifest',
    };
    const view = returnsObjects(endpoint) ? await this.ports.objects.pageJson(request) : rowsView(endpoint, await this.ports.objects.page(request));
    if (isEmptyFirstPageOfObject(view, request) && !(await this.ports.objects.objectExists(request.collectionPk, request.objectId))) {
      throw notFound('No object with this id in this collection');
    }
    const next = this.nextToken(view, scope, principal, request);
    this.auditRead(ctx, endpoint, view.count, query);
    this.observers.meter.served(ctx, endpoint, { objects: view.count });
    return { status: 200, body: render(endpoint, view, next), headers: dateHeaders(view), objects: view.count };
  }

  private auditRead(ctx: Required<TaxiiContext>, endpoint: ListEndpoint, objectCount: number, query: RawQuery): void {
    if (this.paging.auditReads) this.audit.record(auditEntry(ctx, { action: 'read', endpoint, objectCount, detail: querySummary(query) }));
  }

  /**
   * Decodes the request's signed `next` token, if any, and checks that it was issued for this very
   * request: same endpoint and scope, same principal, and the same filters (or none repeated).
   */
  private openCursor(q: ListQuery, scope: string, principal: string): CursorState | undefined {
    if (q.next === undefined) return undefined;
    const st = this.cursors.decode(q.next, Math.floor(Date.now() / 1000));
    if (st.scope !== scope || st.principal !== principal) throw new DomainError('InvalidCursor', 'The "next" value was issued for another request');
    if (q.hasFilter && filterKey(q.filter) !== st.filter)
      throw new DomainError('InvalidCursor', 'The filters differ from the ones the "next" value was issued for; send the same filters or none');
    return st;
  }

  /** The request's `limit`; else the one the cursor carried (capped by the current maximum); else the default. */
  private pageSize(limit: number | undefined, cursor: CursorState | undefined): number {
    if (limit !== undefined) return limit;
    return cursor === undefined ? this.paging.defaultPageSize : Math.min(cursor.limit, this.paging.maxPageSize);
  }

  /** The `next` token that resumes after the page's last row, bound to this scope, principal, filters and limit; none on the last page. */
  private nextToken(view: PageView, scope: string, principal: string, request: PageRequest): string | undefined {
    if (!view.more) return undefined;
    const last = view.last;
    if (last === undefined) throw new Error('more without rows');
    return this.cursors.encode({
      scope,
      principal,
      filter: filterKey(request.filter),
      limit: request.limit,
      dateAddedUs: last.dateAddedUs,
      seq: last.seq,
      issuedAt: Math.floor(Date.now() / 1000),
    });
  }

  /** Add Objects: stores the valid objects of the envelope and answers 202 with a complete status. */
  async add(ctx: Required<TaxiiContext>, body: EnvelopeBody | undefined): Promise<TaxiiResponse> {
    const requestTimestampUs = nowUs();
    const { valid, invalid } = await this.ports.preparer.prepare(body ?? bodyOf(new Uint8Array(0)), {
      mediaTypes: ctx.collection.mediaTypes,
      maxObjects: this.paging.maxObjectsPerEnvelope,
    });
    const status = await this.ports.objects.addObjects({
      statusId: randomUUID(),
      apiRootPk: ctx.root.pk,
      collectionPk: ctx.collection.pk,
      principalPk: ctx.principal.pk,
      requestTimestampUs,
      valid,
      invalid,
    });
    this.audit.record(
      auditEntry(ctx, {
        action: 'add',
        endpoint: 'objects',
        objectCount: status.successes.length,
        statusId: status.id,
        detail: `${status.failures.length} failed`,
      }),
    );
    this.observers.meter.ingested(ctx, {
      objects: status.successes.length,
      failures: failureCounts(status.failures),
    });
    return { status: 202, body: await statusJsonBytes(status, formatTaxiiTimestamp), headers: {}, objects: status.successes.length };
  }

  /**
   * Delete an Object: every version without filters, the selected ones with match[version]/match[spec_version]
   * (the delete grant was enforced by the tenancy hook).
   */
  async delete(ctx: Required<TaxiiContext>, objectId: string, query: RawQuery): Promise<TaxiiResponse> {
    const q = parseListQuery(query, 'delete', this.paging.maxPageSize);
    if (!(await this.ports.objects.objectExists(ctx.collection.pk, objectId))) throw notFound('No object with this id in this collection');
    const n = await this.ports.objects.deleteObject(ctx.collection.pk, objectId, q.filter);
    if (n === 0) throw notFound('No version of this object matches the filters');
    this.audit.record(auditEntry(ctx, { action: 'delete', endpoint: 'object', objectCount: n, detail: objectId }));
    return { status: 200, body: undefined, headers: {} };
  }

  /** Get a Status; `mayRead` is libs/auth's decision for a status created by a given principal. */
  async status(root: ApiRootInfo, statusId: string, mayRead: (ownerPk: number) => boolean): Promise<TaxiiResponse> {
    if (!isUuid(statusId)) throw notFound();
    const s = await this.ports.objects.getStatus(root.pk, statusId.toLowerCase());
    if (s === undefined || !mayRead(s.principalPk)) throw notFound();
    return { status: 200, body: await statusJsonBytes(s, formatTaxiiTimestamp), headers: {} };
  }
}

/** Objects and Get an Object return full objects; manifests and versions only metadata. */
function returnsObjects(endpoint: ListEndpoint): boolean {
  return endpoint === 'objects' || endpoint === 'object';
}

/** Get Object Versions lists every version by default; the other endpoints only the latest. */
function defaultVersionsOf(endpoint: ListEndpoint): VersionSelector {
  return endpoint === 'versions' ? ALL_VERSIONS : LAST_VERSION;
}

/**
 * True for the first page of a per-object endpoint that came back empty: the object may not exist at
 * all (404), or exist with no version matching the filters (an empty 200).
 */
function isEmptyFirstPageOfObject(view: PageView, request: PageRequest): request is PageRequest & { readonly objectId: string } {
  return view.count === 0 && request.after === undefined && request.objectId !== undefined;
}

function dateHeaders(view: PageView): Record<string, string> {
  const { first, last } = view;
  if (first === undefined || last === undefined) return {};
  return { 'x-taxii-date-added-first': formatTaxiiTimestamp(first.dateAddedUs), 'x-taxii-date-added-last': formatTaxiiTimestamp(last.dateAddedUs) };
}

/**
 * A page as the response needs it: counts, positions, and the list's items already serialized and
 * joined (by the database for objects, here for manifest records and versions).
 */
type PageView = JoinedPage;

function manifestRecord(r: PageRow): string {
  return `{"id":${JSON.stringify(r.id)},"date_added":"${formatTaxiiTimestamp(r.dateAddedUs)}","version":${JSON.stringify(r.version)},"media_type":${JSON.stringify(r.mediaType)}}`;
}

/** Manifest and versions pages: the rows serialized here. */
function rowsView(endpoint: ListEndpoint, page: Page): PageView {
  const first = page.rows[0];
  const last = page.rows[page.rows.length - 1];
  const items = endpoint === 'versions' ? page.rows.map((r) => JSON.stringify(r.version)) : page.rows.map(manifestRecord);
  return {
    count: page.rows.length,
    more: page.more,
    first: first === undefined ? undefined : { dateAddedUs: first.dateAddedUs, seq: first.seq },
    last: last === undefined ? undefined : { dateAddedUs: last.dateAddedUs, seq: last.seq },
    json: items.length === 0 ? undefined : items.join(','),
  };
}

/** The envelope, manifest or versions resource: `more`, `next` when there is more, and the items if any. */
function render(endpoint: ListEndpoint, view: PageView, next: string | undefined): string {
  const head = `{"more":${view.more}${next === undefined ? '' : `,"next":${JSON.stringify(next)}`}`;
  if (view.json === undefined) return head + '}';
  return `${head},"${endpoint === 'versions' ? 'versions' : 'objects'}":[${view.json}]}`;
}

export type { CollectionInfo };
