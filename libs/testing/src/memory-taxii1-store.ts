import { randomUUID } from 'node:crypto';
import {
  QuotaExceeded,
  Window,
  type AddedBlocks,
  type BindingFilter,
  type BlockInput,
  type BlockQuery,
  type CatalogSnapshot,
  type Delivery,
  type NewSubscription,
  type OpenedWindow,
  type OutboxCounts,
  type RequestedWindow,
  type ResultSet,
  type StoredBlock,
  type SubscriptionReport,
  type SubscriptionRow,
  type Taxii1Store,
} from '@taxiway/domain';

interface Collection {
  /** The newest label handed out (the SQL store's last_added_us). */
  newestUs: number;
  maxObjects: number | undefined;
  readonly blocks: StoredBlock[];
}

interface OutboxEntry {
  readonly pk: number;
  readonly subscriptionPk: number;
  beginUs: number;
  endUs: number;
  state: 'pending' | 'delivered' | 'failed';
  attempts: number;
  nextAttemptAtMs: number;
  leaseUntilMs: number | undefined;
  claim: string | undefined;
  lastError: string | undefined;
  firstFailedAtMs: number | undefined;
  blocksDelivered: number;
  createdAtMs: number;
  finishedAtMs: number | undefined;
}

interface Stored<T> {
  readonly value: T;
  readonly expiresAtMs: number;
}

export interface MemoryTaxii1StoreOptions {
  /** The clock, in epoch milliseconds (labels are drawn from it, leases and retries timed by it). Default Date.now. */
  readonly now?: () => number;
  /** Names for subscriptionReport (the SQL store joins the catalogue tables). */
  readonly catalog?: () => CatalogSnapshot;
}

/**
 * The TAXII 1.x storage port in memory, for unit specs: content blocks on each collection's
 * timeline (strictly increasing µs labels, never behind the clock), windows read with Window,
 * quotas, subscriptions, result sets with a lifetime, and the push outbox with claims, leases,
 * merging of queued entries, retries and giving up, as libs/store's SQL implementation does them.
 * STIX 2.1 objects (which the SQL store serves as content blocks of their binding) are not modelled.
 */
export class MemoryTaxii1Store implements Taxii1Store {
  private readonly collections = new Map<number, Collection>();
  private readonly subs = new Map<number, SubscriptionRow & { createdAt: Date }>();
  private readonly results = new Map<string, Stored<ResultSet>>();
  private readonly entries: OutboxEntry[] = [];
  private nextPk = 1;
  private readonly now: () => number;
  private readonly catalog: (() => CatalogSnapshot) | undefined;

  constructor(options: MemoryTaxii1StoreOptions = {}) {
    this.now = options.now ?? Date.now;
    this.catalog = options.catalog;
  }

  /** Sets a collection's quota (the SQL store's collections.max_objects); undefined = none. */
  setQuota(collectionPk: number, maxObjects: number | undefined): void {
    this.collection(collectionPk).maxObjects = maxObjects;
  }

  /** Every block of a collection, oldest first (for assertions). */
  stored(collectionPk: number): readonly StoredBlock[] {
    return this.collection(collectionPk).blocks;
  }

  async addBlocks(collectionPks: readonly number[], principalPk: number, blocks: readonly BlockInput[]): Promise<AddedBlocks[]> {
    await Promise.resolve();
    if (blocks.length === 0) return [];
    const pks = [...new Set(collectionPks)].sort((a, b) => a - b);
    // All or nothing: every quota is checked before anything is stored.
    for (const pk of pks) {
      const c = this.collection(pk);
      if (c.maxObjects !== undefined && c.blocks.length + blocks.length > c.maxObjects) throw new QuotaExceeded(pk, c.maxObjects);
    }
    return pks.map((pk) => this.append(pk, blocks));
  }

  private append(collectionPk: number, blocks: readonly BlockInput[]): AddedBlocks {
    const c = this.collection(collectionPk);
    // As allocatePositions: consecutive labels after the newest, never behind the clock.
    const first = Math.max(c.newestUs + 1, this.now() * 1000);
    blocks.forEach((b, i) => c.blocks.push({ ...b, labelUs: first + i }));
    c.newestUs = first + blocks.length - 1;
    const appended = Window.labels(first, c.newestUs);
    for (const s of this.subs.values()) {
      if (s.collectionPk === collectionPk && s.push !== undefined) this.queue(s.pk, appended);
    }
    const bytes = blocks.reduce((n, b) => n + Buffer.byteLength(b.content, 'utf8'), 0);
    return { collectionPk, count: blocks.length, bytes, firstUs: first, lastUs: c.newestUs };
  }

  private queue(subscriptionPk: number, w: Window & { readonly afterUs: number }): void {
    const at = this.now();
    this.entries.push({
      pk: this.nextPk++,
      subscriptionPk,
      beginUs: w.afterUs,
      endUs: w.throughUs,
      state: 'pending',
      attempts: 0,
      nextAttemptAtMs: at,
      leaseUntilMs: undefined,
      claim: undefined,
      lastError: undefined,
      firstFailedAtMs: undefined,
      blocksDelivered: 0,
      createdAtMs: at,
      finishedAtMs: undefined,
    });
  }

  async openWindow(w: {
    readonly collectionPk: number;
    readonly requested: RequestedWindow;
    readonly bindings: readonly BindingFilter[];
    readonly partSize: number;
  }): Promise<OpenedWindow> {
    await Promise.resolve();
    const window = Window.opened(w.requested, this.collection(w.collectionPk).newestUs);
    const labels = this.select({ collectionPk: w.collectionPk, window, bindings: w.bindings }).map((b) => b.labelUs);
    // The label of every partSize-th record, but the last record's.
    const cuts = labels.filter((_, i) => (i + 1) % w.partSize === 0 && i + 1 < labels.length);
    return { window, count: labels.length, cuts };
  }

  async blocks(q: BlockQuery, limit: number): Promise<StoredBlock[]> {
    await Promise.resolve();
    return this.select(q).slice(0, limit);
  }

  private select(q: BlockQuery): StoredBlock[] {
    return this.collection(q.collectionPk).blocks.filter((b) => q.window.contains(b.labelUs) && matches(b, q.bindings));
  }

  async createResultSet(r: Omit<ResultSet, 'id'>, ttlSeconds: number): Promise<string> {
    await Promise.resolve();
    const id = randomUUID();
    this.results.set(id, { value: { ...r, id }, expiresAtMs: this.now() + ttlSeconds * 1000 });
    return id;
  }

  async resultSet(id: string): Promise<ResultSet | undefined> {
    await Promise.resolve();
    const r = this.results.get(id);
    return r !== undefined && r.expiresAtMs > this.now() ? r.value : undefined;
  }

  async purgeResultSets(): Promise<number> {
    await Promise.resolve();
    const gone = [...this.results].filter(([, r]) => r.expiresAtMs <= this.now());
    for (const [id] of gone) this.results.delete(id);
    return gone.length;
  }

  // --- subscriptions ---

  async subscriptions(collectionPk: number, principalPk: number): Promise<SubscriptionRow[]> {
    await Promise.resolve();
    return [...this.subs.values()].filter((s) => s.collectionPk === collectionPk && s.principalPk === principalPk).map(row);
  }

  async subscription(collectionPk: number, principalPk: number, id: string): Promise<SubscriptionRow | undefined> {
    const all = await this.subscriptions(collectionPk, principalPk);
    return all.find((s) => s.id === id);
  }

  async subscribe(s: NewSubscription): Promise<{ row: SubscriptionRow; created: boolean }> {
    await Promise.resolve();
    const same = [...this.subs.values()].find((x) => x.collectionPk === s.collectionPk && x.principalPk === s.principalPk && x.fingerprint === s.fingerprint);
    if (same !== undefined) return { row: row(same), created: false };
    const created = { ...s, pk: this.nextPk++, id: randomUUID(), status: 'ACTIVE' as const, createdAt: new Date(this.now()) };
    this.subs.set(created.pk, created);
    return { row: row(created), created: true };
  }

  async setStatus(pk: number, status: 'ACTIVE' | 'PAUSED'): Promise<void> {
    await Promise.resolve();
    const s = this.subs.get(pk);
    if (s !== undefined) this.subs.set(pk, { ...s, status });
  }

  /** Deletes a subscription and its outbox entries. */
  async unsubscribe(pk: number): Promise<void> {
    await Promise.resolve();
    this.subs.delete(pk);
    for (let i = this.entries.length - 1; i >= 0; i--) if (this.entries[i]!.subscriptionPk === pk) this.entries.splice(i, 1);
  }

  // --- push outbox ---

  async claimDeliveries(limit: number, leaseMs: number): Promise<Delivery[]> {
    await Promise.resolve();
    const out: Delivery[] = [];
    for (const s of [...this.subs.values()].sort((a, b) => a.pk - b.pk)) {
      if (out.length === limit) break;
      if (s.status !== 'ACTIVE' || s.push === undefined) continue;
      const d = this.claimHead(s, leaseMs);
      if (d !== undefined) out.push(d);
    }
    return out;
  }

  /** Leases the subscription's oldest pending entry if it is due and free, folding the untried entries queued after it into it. */
  private claimHead(s: SubscriptionRow, leaseMs: number): Delivery | undefined {
    const now = this.now();
    const head = this.pending(s.pk)[0];
    if (head === undefined || head.nextAttemptAtMs > now || (head.leaseUntilMs !== undefined && head.leaseUntilMs >= now)) return undefined;
    if (head.attempts === 0) {
      for (const f of this.pending(s.pk).slice(1)) {
        if (f.attempts !== 0 || f.leaseUntilMs !== undefined) continue;
        head.endUs = Math.max(head.endUs, f.endUs);
        this.entries.splice(this.entries.indexOf(f), 1);
      }
    }
    head.claim = randomUUID();
    head.leaseUntilMs = now + leaseMs;
    return {
      pk: head.pk,
      claim: head.claim,
      attempts: head.attempts,
      firstFailedAtMs: head.firstFailedAtMs,
      window: Window.of(head.beginUs, head.endUs),
      subscription: row(s),
    };
  }

  private pending(subscriptionPk: number): OutboxEntry[] {
    return this.entries.filter((e) => e.subscriptionPk === subscriptionPk && e.state === 'pending').sort((a, b) => a.pk - b.pk);
  }

  /** The entry held under the claim, if the claim is still its own. */
  private claimed(d: Pick<Delivery, 'pk' | 'claim'>): OutboxEntry | undefined {
    return this.entries.find((e) => e.pk === d.pk && e.claim === d.claim);
  }

  async delivered(d: Pick<Delivery, 'pk' | 'claim'>, throughUs: number, blocks: number): Promise<void> {
    await Promise.resolve();
    const e = this.claimed(d);
    if (e === undefined) return;
    const rest = Window.of(e.beginUs, e.endUs).after(throughUs);
    Object.assign(e, { blocksDelivered: e.blocksDelivered + blocks, leaseUntilMs: undefined, claim: undefined, attempts: 0, lastError: undefined });
    Object.assign(e, { firstFailedAtMs: undefined, beginUs: rest.afterUs ?? throughUs });
    if (rest.empty) Object.assign(e, { state: 'delivered', finishedAtMs: this.now() });
  }

  async retryLater(d: Pick<Delivery, 'pk' | 'claim'>, error: string, delayMs: number): Promise<void> {
    await Promise.resolve();
    const e = this.claimed(d);
    if (e === undefined) return;
    const now = this.now();
    Object.assign(e, { attempts: e.attempts + 1, lastError: error.slice(0, 2000), leaseUntilMs: undefined, claim: undefined });
    Object.assign(e, { firstFailedAtMs: e.firstFailedAtMs ?? now, nextAttemptAtMs: now + delayMs });
  }

  async giveUp(d: Pick<Delivery, 'pk' | 'claim'>, error: string): Promise<void> {
    await Promise.resolve();
    const e = this.claimed(d);
    if (e === undefined) return;
    Object.assign(e, { attempts: e.attempts + 1, state: 'failed', lastError: error.slice(0, 2000), leaseUntilMs: undefined, claim: undefined });
    e.finishedAtMs = this.now();
  }

  async outboxCounts(): Promise<OutboxCounts> {
    await Promise.resolve();
    const pending = this.entries.filter((e) => e.state === 'pending');
    const oldest = pending.length === 0 ? undefined : Math.min(...pending.map((e) => e.createdAtMs));
    return { pending: pending.length, failed: this.entries.filter((e) => e.state === 'failed').length, oldestPendingMs: oldest };
  }

  async outbox(subscriptionId: string): Promise<{ state: string; attempts: number; lastError: string | undefined; blocks: number }[]> {
    await Promise.resolve();
    const sub = [...this.subs.values()].find((s) => s.id === subscriptionId);
    return this.entries
      .filter((e) => e.subscriptionPk === sub?.pk)
      .sort((a, b) => b.pk - a.pk)
      .map((e) => ({ state: e.state, attempts: e.attempts, lastError: e.lastError, blocks: e.blocksDelivered }));
  }

  async subscriptionReport(rootPath: string): Promise<SubscriptionReport[]> {
    await Promise.resolve();
    if (this.catalog === undefined) throw new Error('MemoryTaxii1Store: subscriptionReport needs the catalog option');
    const snap = this.catalog();
    const root = snap.roots.find((r) => r.path === rootPath);
    const out: SubscriptionReport[] = [];
    for (const s of [...this.subs.values()].sort((a, b) => a.pk - b.pk)) {
      const c = snap.collections.find((x) => x.pk === s.collectionPk && x.apiRootPk === root?.pk);
      const p = snap.principals.find((x) => x.pk === s.principalPk);
      if (c === undefined || p === undefined) continue;
      const mine = this.entries.filter((e) => e.subscriptionPk === s.pk);
      out.push({
        id: s.id,
        collection: c.name,
        principal: p.name,
        version: s.version,
        status: s.status,
        responseType: s.responseType,
        pushAddress: s.push?.address,
        pending: mine.filter((e) => e.state === 'pending').length,
        failed: mine.filter((e) => e.state === 'failed').length,
        deliveredBlocks: mine.reduce((n, e) => n + e.blocksDelivered, 0),
        lastError: [...mine].reverse().find((e) => e.lastError !== undefined)?.lastError,
        createdAt: s.createdAt,
      });
    }
    return out.sort((a, b) => a.collection.localeCompare(b.collection) || a.principal.localeCompare(b.principal));
  }

  async retryFailed(subscriptionId: string): Promise<number> {
    await Promise.resolve();
    const sub = [...this.subs.values()].find((s) => s.id === subscriptionId);
    const failed = this.entries.filter((e) => e.subscriptionPk === sub?.pk && e.state === 'failed');
    const now = this.now();
    for (const e of failed)
      Object.assign(e, { state: 'pending', attempts: 0, nextAttemptAtMs: now, createdAtMs: now, finishedAtMs: undefined, leaseUntilMs: undefined });
    return failed.length;
  }

  async purgeOutbox(olderThan: Date): Promise<number> {
    await Promise.resolve();
    const gone = this.entries.filter((e) => e.state !== 'pending' && e.finishedAtMs !== undefined && e.finishedAtMs < olderThan.getTime());
    for (const e of gone) this.entries.splice(this.entries.indexOf(e), 1);
    return gone.length;
  }

  private collection(pk: number): Collection {
    let c = this.collections.get(pk);
    if (c === undefined) {
      c = { newestUs: 0, maxObjects: undefined, blocks: [] };
      this.collections.set(pk, c);
    }
    return c;
  }
}

/** A block matches when the filter is empty, or names its binding with no subtypes, or its subtype, or it asserts none. */
function matches(b: StoredBlock, bindings: readonly BindingFilter[]): boolean {
  if (bindings.length === 0) return true;
  return bindings.some((f) => f.id === b.binding && (f.subtypes.length === 0 || b.subtype === undefined || f.subtypes.includes(b.subtype)));
}

function row(s: SubscriptionRow & { createdAt?: Date }): SubscriptionRow {
  const { createdAt: _createdAt, ...rest } = s;
  return rest;
}
