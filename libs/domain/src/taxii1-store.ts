import type { RequestedWindow, Window } from './window';

/**
 * The storage port of the TAXII 1.x services (ADR 0010): content blocks on the collection's shared
 * timeline, subscriptions, multi-part result sets and the push outbox. libs/store implements it in
 * SQL; the services depend on this interface only.
 */

export interface BlockInput {
  readonly binding: string;
  readonly subtype: string | undefined;
  readonly content: string;
  readonly contentNs: Readonly<Record<string, string>>;
  readonly message: string | undefined;
}

export interface StoredBlock {
  readonly labelUs: number;
  readonly binding: string;
  readonly subtype: string | undefined;
  /** The `<Content>` element's inner XML exactly as received (for STIX 2.1 objects: the escaped JSON text). */
  readonly content: string;
  readonly contentNs: Readonly<Record<string, string>>;
  readonly message: string | undefined;
}

/** Accepted bindings of a poll or subscription: each id with its subtypes (none = any subtype). Empty list = all. */
export interface BindingFilter {
  readonly id: string;
  readonly subtypes: readonly string[];
}

/** The records of one collection in a window that match the bindings. */
export interface BlockQuery {
  readonly collectionPk: number;
  readonly window: Window;
  readonly bindings: readonly BindingFilter[];
}

export interface AddedBlocks {
  readonly collectionPk: number;
  readonly count: number;
  readonly bytes: number;
  readonly firstUs: number;
  readonly lastUs: number;
}

export class QuotaExceeded extends Error {
  constructor(
    readonly collectionPk: number,
    readonly max: number,
  ) {
    super(`quota exceeded: the collection holds at most ${max} records`);
    this.name = 'QuotaExceeded';
  }
}

export interface SubscriptionRow {
  readonly pk: number;
  readonly id: string;
  readonly collectionPk: number;
  readonly principalPk: number;
  readonly version: '1.0' | '1.1';
  readonly status: 'ACTIVE' | 'PAUSED';
  readonly responseType: 'FULL' | 'COUNT_ONLY';
  readonly contentBindings: readonly BindingFilter[];
  readonly push: { readonly protocol: string; readonly address: string; readonly messageBinding: string } | undefined;
  readonly fingerprint: string;
}

export type NewSubscription = Omit<SubscriptionRow, 'pk' | 'id' | 'status'>;

export interface ResultSet {
  readonly id: string;
  readonly collectionPk: number;
  readonly principalPk: number;
  readonly subscriptionId: string | undefined;
  readonly contentBindings: readonly BindingFilter[];
  /** The result's parts, in order: consecutive windows, the first starting where the poll did. */
  readonly parts: readonly Window[];
  readonly recordCount: number;
}

/** A claimed outbox entry: deliver the window of the subscription's collection to its address. */
export interface Delivery {
  readonly pk: number;
  /** The claim's token: outcomes are recorded only with it. */
  readonly claim: string;
  readonly attempts: number;
  /** When the entry first failed (the give-up clock); undefined while it has not. */
  readonly firstFailedAtMs: number | undefined;
  readonly window: Window;
  readonly subscription: SubscriptionRow;
}

export interface SubscriptionReport {
  readonly id: string;
  readonly collection: string;
  readonly principal: string;
  readonly version: string;
  readonly status: string;
  readonly responseType: string;
  readonly pushAddress: string | undefined;
  /** Outbox entries still to deliver, and given up. */
  readonly pending: number;
  readonly failed: number;
  readonly deliveredBlocks: number;
  /** The most recent delivery error. */
  readonly lastError: string | undefined;
  readonly createdAt: Date;
}

export interface OutboxCounts {
  readonly pending: number;
  readonly failed: number;
  readonly oldestPendingMs: number | undefined;
}

/** A poll's window as opened (Window.opened), the number of records in it, and the labels that end its parts but the last. */
export interface OpenedWindow {
  readonly window: Window;
  readonly count: number;
  readonly cuts: readonly number[];
}

export interface Taxii1Store {
  /** Adds blocks to one or more collections in one transaction: all are stored or none (QuotaExceeded). */
  addBlocks(collectionPks: readonly number[], principalPk: number, blocks: readonly BlockInput[]): Promise<AddedBlocks[]>;
  /**
   * Opens a poll in one snapshot: the requested window closed at the collection's newest label
   * (Window.opened), the number of matching records, and, when there are more than `partSize`, the
   * label of every `partSize`-th record (the ends of all parts but the last).
   */
  openWindow(w: {
    readonly collectionPk: number;
    readonly requested: RequestedWindow;
    readonly bindings: readonly BindingFilter[];
    readonly partSize: number;
  }): Promise<OpenedWindow>;
  /** The matching records of the window, oldest first, at most `limit`. */
  blocks(q: BlockQuery, limit: number): Promise<StoredBlock[]>;
  createResultSet(r: Omit<ResultSet, 'id'>, ttlSeconds: number): Promise<string>;
  resultSet(id: string): Promise<ResultSet | undefined>;
  purgeResultSets(): Promise<number>;
  subscriptions(collectionPk: number, principalPk: number): Promise<SubscriptionRow[]>;
  subscription(collectionPk: number, principalPk: number, id: string): Promise<SubscriptionRow | undefined>;
  subscribe(s: NewSubscription): Promise<{ row: SubscriptionRow; created: boolean }>;
  setStatus(pk: number, status: 'ACTIVE' | 'PAUSED'): Promise<void>;
  unsubscribe(pk: number): Promise<void>;
  claimDeliveries(limit: number, leaseMs: number): Promise<Delivery[]>;
  /** The entry's window was delivered up to and including `throughUs`; the rest of it (if any) stays pending. */
  delivered(d: Pick<Delivery, 'pk' | 'claim'>, throughUs: number, blocks: number): Promise<void>;
  retryLater(d: Pick<Delivery, 'pk' | 'claim'>, error: string, delayMs: number): Promise<void>;
  giveUp(d: Pick<Delivery, 'pk' | 'claim'>, error: string): Promise<void>;
  outboxCounts(): Promise<OutboxCounts>;
  outbox(subscriptionId: string): Promise<{ state: string; attempts: number; lastError: string | undefined; blocks: number }[]>;
  subscriptionReport(rootPath: string): Promise<SubscriptionReport[]>;
  retryFailed(subscriptionId: string): Promise<number>;
  purgeOutbox(olderThan: Date): Promise<number>;
}
