import type { CatalogSnapshot } from './catalog';
import type { ObjectFilter, VersionSelector } from './filters';
import type { StatusDetail, StatusResource } from './status';
import type { StixRecord } from './stix';

/** A position in a collection's total order. */
export interface Position {
  readonly dateAddedUs: number;
  readonly seq: number;
}

export interface PageRequest {
  readonly collectionPk: number;
  /** Restricts to one object (Get an Object, Get Object Versions). */
  readonly objectId?: string;
  readonly filter: ObjectFilter;
  /** Version selection when the filter has none. */
  readonly defaultVersions: VersionSelector;
  readonly after?: Position;
  readonly limit: number;
  /** Which columns to fetch: the raw JSON (objects) or only the metadata (manifest, versions). */
  readonly shape: 'objects' | 'manifest';
}

export interface PageRow {
  readonly id: string;
  readonly dateAddedUs: number;
  readonly seq: number;
  /** Version as reported: `modified`/`created` text, or the first date_added for unversioned objects. */
  readonly version: string;
  readonly mediaType: string;
  /** Present for shape 'objects'. */
  readonly raw?: string;
}

export interface Page {
  readonly rows: readonly PageRow[];
  readonly more: boolean;
}

export interface AddRequest {
  readonly statusId: string;
  readonly apiRootPk: number;
  readonly collectionPk: number;
  readonly principalPk: number;
  readonly requestTimestampUs: number;
  /** Objects in envelope order; `index` is their position, used to keep the status in that order. */
  readonly valid: readonly { readonly index: number; readonly record: StixRecord }[];
  readonly invalid: readonly { readonly index: number; readonly detail: StatusDetail }[];
}

/**
 * A page of full objects, pre-joined by the database: `json` is the page's objects, in order,
 * separated by commas (undefined when empty). Serving it needs no per-object work in the server.
 */
export interface JoinedPage {
  readonly count: number;
  readonly more: boolean;
  readonly first: Position | undefined;
  readonly last: Position | undefined;
  readonly json: string | undefined;
}

/** Storage port, one method per TAXII operation (medallion's back-end cut). */
export interface ObjectStore {
  /** Stores the valid objects and the status resource in one transaction. */
  addObjects(req: AddRequest): Promise<StatusResource>;
  page(req: PageRequest): Promise<Page>;
  /** The same selection as page() with shape 'objects', joined into one JSON text by the database. */
  pageJson(req: PageRequest): Promise<JoinedPage>;
  objectExists(collectionPk: number, objectId: string): Promise<boolean>;
  /** Deletes the selected versions (all when the filter is empty); returns how many rows went. */
  deleteObject(collectionPk: number, objectId: string, filter: ObjectFilter): Promise<number>;
  getStatus(apiRootPk: number, statusId: string): Promise<(StatusResource & { readonly principalPk: number }) | undefined>;
  purgeStatuses(olderThanUs: number): Promise<number>;
}

export interface CatalogStore {
  loadCatalog(): Promise<CatalogSnapshot>;
}

export type AuditAction = 'add' | 'read' | 'delete';

/** One audit record: who did what to which collection of which API root. */
export interface AuditEntry {
  readonly at: Date;
  /** The API root's path and the collection's name, copied: an entry outlives both. */
  readonly apiRoot: string;
  readonly collection: string | undefined;
  readonly principal: string;
  readonly action: AuditAction;
  /** Which TAXII endpoint: objects, object, manifest, versions. */
  readonly endpoint: string;
  readonly objectCount: number;
  readonly statusId: string | undefined;
  /** Filter summary for reads (e.g. `match[type]=indicator limit=100`), outcome for writes. */
  readonly detail: string | undefined;
}

/** Where audit entries go. Recording never waits on the database: implementations batch. */
export interface AuditSink {
  record(entry: AuditEntry): void;
}
