import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import {
  QuotaExceeded,
  type BlockInput,
  type StoredBlock,
  type BindingFilter,
  type BlockQuery,
  type AddedBlocks,
  type SubscriptionRow,
  type NewSubscription,
  type ResultSet,
  type Delivery,
  type SubscriptionReport,
  type OutboxCounts,
  type Taxii1Store,
  type OpenedWindow,
  type RequestedWindow,
  Window,
} from '@taxiway/domain';
import { allocatePositions, lockTimeline, recordAppended, STIX21_BINDING_ID } from './timeline';
import { dataSourceOf, type Connection } from './database';

/** The TAXII 1.x storage port (libs/domain/src/taxii1-store.ts) in SQL. */
interface SubscriptionDbRow {
  pk: number;
  id: string;
  collection_pk: number;
  principal_pk: number;
  version: '1.0' | '1.1';
  status: 'ACTIVE' | 'PAUSED';
  response_type: 'FULL' | 'COUNT_ONLY';
  content_bindings: BindingFilter[];
  push_protocol: string | null;
  push_address: string | null;
  push_message_binding: string | null;
  fingerprint: string;
}

interface BlockDbRow {
  label_us: number;
  binding: string;
  subtype: string | null;
  content: string;
  content_ns: Record<string, string>;
  message: string | null;
}

const SUB_COLUMNS = `pk, id, collection_pk, principal_pk, version, status, response_type, content_bindings,
                     push_protocol, push_address, push_message_binding, fingerprint`;

function subscriptionOf(r: SubscriptionDbRow): SubscriptionRow {
  return {
    pk: r.pk,
    id: r.id,
    collectionPk: r.collection_pk,
    principalPk: r.principal_pk,
    version: r.version,
    status: r.status,
    responseType: r.response_type,
    contentBindings: r.content_bindings,
    push:
      r.push_address === null || r.push_protocol === null || r.push_message_binding === null
        ? undefined
        : { protocol: r.push_protocol, address: r.push_address, messageBinding: r.push_message_binding },
    fingerprint: r.fingerprint,
  };
}

/**
 * The filter on a block's binding and subtype: the block matches a requested binding when the ids
 * are equal and the request names no subtypes, the block asserts none, or its subtype is listed.
 */
const BINDING_MATCH = (binding: string, subtype: string, param: string): string => `
  (${param}::jsonb IS NULL OR EXISTS (
     SELECT 1 FROM jsonb_array_elements(${param}::jsonb) f
      WHERE f->>'id' = ${binding}
        AND (jsonb_array_length(f->'subtypes') = 0 OR ${subtype} IS NULL OR (f->'subtypes') ? ${subtype})))`;

/** Whether a poll or subscription filter lets STIX 2.1 objects through: only when it names their binding. */
export function wantsStix21(bindings: readonly BindingFilter[]): boolean {
  return bindings.some((b) => b.id === STIX21_BINDING_ID);
}

const filterParam = (bindings: readonly BindingFilter[]): string | null => (bindings.length === 0 ? null : JSON.stringify(bindings));

/** Window.contains in SQL: `label` in ($2, $3], $2 NULL = no lower bound. */
const IN_WINDOW = (label: string): string => `($2::bigint IS NULL OR ${label} > $2) AND ${label} <= $3`;

/** The parameters $2, $3 of IN_WINDOW. */
const windowParams = (w: Window): [number | null, number] => [w.afterUs ?? null, w.throughUs];

/**
 * The records of a window, oldest first: content blocks, plus the collection's STIX 2.1 objects when
 * the filter asks for their binding (each version is one record, its date_added the label; the JSON
 * text is escaped into the XML content).
 */
function windowSql(withStix21: boolean, select: 'rows' | 'labels'): string {
  const blocks = `
    SELECT cb.label_us, cb.binding, cb.subtype, ${select === 'rows' ? 'cb.content, cb.content_ns, cb.message' : 'NULL AS content'}
      FROM content_blocks cb
     WHERE cb.collection_pk = $1 AND ${IN_WINDOW('cb.label_us')}
       AND ${BINDING_MATCH('cb.binding', 'cb.subtype', '$4')}`;
  if (!withStix21) return blocks;
  const escaped = `replace(replace(replace(o.raw, '&', '&amp;'), '<', '&lt;'), '>', '&gt;')`;
  const objects = `
    SELECT o.date_added_us, '${STIX21_BINDING_ID}'::text, NULL::text, ${select === 'rows' ? `${escaped}, '{}'::jsonb, NULL::text` : 'NULL'}
      FROM objects o
     WHERE o.collection_pk = $1 AND ${IN_WINDOW('o.date_added_us')}`;
  return `${blocks} UNION ALL ${objects}`;
}

export class SqlTaxii1Store implements Taxii1Store {
  private readonly ds: DataSource;

  constructor(db: Connection) {
    this.ds = dataSourceOf(db);
  }

  /**
   * Adds content blocks to one or more collections in one transaction: all are stored or none.
   * Each collection's row lock is taken (in pk order, so concurrent inboxes cannot deadlock), its
   * quota checked, labels allocated from its timeline, and one outbox entry queued per push
   * subscription of the collection.
   */
  async addBlocks(collectionPks: readonly number[], principalPk: number, blocks: readonly BlockInput[]): Promise<AddedBlocks[]> {
    if (blocks.length === 0) return [];
    const sorted = [...new Set(collectionPks)].sort((a, b) => a - b);
    return this.ds.transaction(async (em) => {
      const out: AddedBlocks[] = [];
      for (const pk of sorted) out.push(await this.addTo(em, pk, principalPk, blocks));
      return out;
    });
  }

  private async addTo(em: EntityManager, collectionPk: number, principalPk: number, blocks: readonly BlockInput[]): Promise<AddedBlocks> {
    const quota = await lockTimeline(em, collectionPk);
    if (quota?.maxObjects !== null && quota?.maxObjects !== undefined && quota.objectCount + blocks.length > quota.maxObjects) {
      throw new QuotaExceeded(collectionPk, quota.maxObjects);
    }
    const bytes = blocks.map((b) => Buffer.byteLength(b.content, 'utf8'));
    const rows = await em.query<{ first_us: number; last_us: number }[]>(
      `WITH ${allocatePositions('$1', '$2')}, ins AS (
         INSERT INTO content_blocks (collection_pk, label_us, seq, binding, subtype, content, content_ns, message, bytes, principal_pk)
         SELECT $1, alloc.added0 + u.ord, alloc.seq0 + u.ord, u.binding, u.subtype, u.content, u.ns::jsonb, u.message, u.bytes, $9
           FROM alloc, ROWS FROM (unnest($3::text[]), unnest($4::text[]), unnest($5::text[]), unnest($6::text[]), unnest($7::text[]), unnest($8::int[]))
                WITH ORDINALITY AS u(binding, subtype, content, ns, message, bytes, ord)
         RETURNING label_us
       )
       SELECT min(label_us) AS first_us, max(label_us) AS last_us FROM ins`,
      [
        collectionPk,
        blocks.length,
        blocks.map((b) => b.binding),
        blocks.map((b) => b.subtype ?? null),
        blocks.map((b) => b.content),
        blocks.map((b) => JSON.stringify(b.contentNs)),
        blocks.map((b) => b.message ?? null),
        bytes,
        principalPk,
      ],
    );
    const first = rows[0]?.first_us ?? 0;
    const last = rows[0]?.last_us ?? 0;
    await recordAppended(em, { collectionPk, count: blocks.length, window: Window.labels(first, last), stix21: false });
    return { collectionPk, count: blocks.length, bytes: bytes.reduce((a, b) => a + b, 0), firstUs: first, lastUs: last };
  }

  /**
   * Opens a poll: in one snapshot, the newest label of the collection (Window.opened closes the
   * window there), the number of matching records, and the labels at which a result longer than
   * `partSize` is cut into parts.
   */
  async openWindow(w: {
    readonly collectionPk: number;
    readonly requested: RequestedWindow;
    readonly bindings: readonly BindingFilter[];
    readonly partSize: number;
  }): Promise<OpenedWindow> {
    const { collectionPk, bindings, partSize } = w;
    return this.ds.transaction('REPEATABLE READ', async (em) => {
      const [c] = await em.query<{ last_added_us: number }[]>(`SELECT last_added_us FROM collections WHERE pk = $1`, [collectionPk]);
      const window = Window.opened(w.requested, c?.last_added_us ?? 0);
      const sql = windowSql(wantsStix21(bindings), 'labels');
      const params = [collectionPk, ...windowParams(window), filterParam(bindings)];
      const [n] = await em.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM (${sql}) w`, params);
      const count = n?.n ?? 0;
      if (count <= partSize) return { window, count, cuts: [] };
      const cutRows = await em.query<{ label_us: number }[]>(
        `SELECT label_us FROM (SELECT w.label_us, row_number() OVER (ORDER BY w.label_us) AS rn FROM (${sql}) w) r
          WHERE rn % $5 = 0 AND rn < $6 ORDER BY label_us`,
        [...params, partSize, count],
      );
      return { window, count, cuts: cutRows.map((r) => r.label_us) };
    });
  }

  /** The records of a window, oldest first, at most `limit`. */
  async blocks(q: BlockQuery, limit: number): Promise<StoredBlock[]> {
    const sql = `${windowSql(wantsStix21(q.bindings), 'rows')} ORDER BY 1 LIMIT $5`;
    const rows = await this.ds.query<BlockDbRow[]>(sql, [q.collectionPk, ...windowParams(q.window), filterParam(q.bindings), limit]);
    return rows.map((r) => ({
      labelUs: r.label_us,
      binding: r.binding,
      subtype: r.subtype ?? undefined,
      content: r.content,
      contentNs: r.content_ns,
      message: r.message ?? undefined,
    }));
  }

  async createResultSet(r: Omit<ResultSet, 'id'>, ttlSeconds: number): Promise<string> {
    const id = randomUUID();
    await this.ds.query(
      `INSERT INTO taxii1_result_sets (id, collection_pk, principal_pk, subscription_id, content_bindings, cuts, record_count, expires_at)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7, now() + make_interval(secs => $8))`,
      [
        id,
        r.collectionPk,
        r.principalPk,
        r.subscriptionId ?? null,
        JSON.stringify(r.contentBindings),
        JSON.stringify(Window.toCuts(r.parts)),
        r.recordCount,
        ttlSeconds,
      ],
    );
    return id;
  }

  async resultSet(id: string): Promise<ResultSet | undefined> {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) return undefined;
    const [r] = await this.ds.query<
      {
        id: string;
        collection_pk: number;
        principal_pk: number;
        subscription_id: string | null;
        content_bindings: BindingFilter[];
        cuts: (number | null)[];
        record_count: number;
      }[]
    >(`SELECT * FROM taxii1_result_sets WHERE id = $1 AND expires_at > now()`, [id]);
    if (r === undefined) return undefined;
    return {
      id: r.id,
      collectionPk: r.collection_pk,
      principalPk: r.principal_pk,
      subscriptionId: r.subscription_id ?? undefined,
      contentBindings: r.content_bindings,
      parts: Window.fromCuts(r.cuts),
      recordCount: r.record_count,
    };
  }

  async purgeResultSets(): Promise<number> {
    return this.count(`WITH gone AS (DELETE FROM taxii1_result_sets WHERE expires_at <= now() RETURNING 1) SELECT count(*)::int AS n FROM gone`, []);
  }

  // --- subscriptions ---

  async subscriptions(collectionPk: number, principalPk: number): Promise<SubscriptionRow[]> {
    const rows = await this.ds.query<SubscriptionDbRow[]>(
      `SELECT ${SUB_COLUMNS} FROM taxii1_subscriptions WHERE collection_pk = $1 AND principal_pk = $2 ORDER BY pk`,
      [collectionPk, principalPk],
    );
    return rows.map(subscriptionOf);
  }

  async subscription(collectionPk: number, principalPk: number, id: string): Promise<SubscriptionRow | undefined> {
    const rows = await this.ds.query<SubscriptionDbRow[]>(
      `SELECT ${SUB_COLUMNS} FROM taxii1_subscriptions WHERE collection_pk = $1 AND principal_pk = $2 AND id = $3`,
      [collectionPk, principalPk, id],
    );
    return rows[0] === undefined ? undefined : subscriptionOf(rows[0]);
  }

  /** Creates a subscription, or returns the identical one the principal already has (same fingerprint). */
  async subscribe(s: NewSubscription): Promise<{ row: SubscriptionRow; created: boolean }> {
    const id = randomUUID();
    const inserted = await this.ds.query<SubscriptionDbRow[]>(
      `INSERT INTO taxii1_subscriptions (id, collection_pk, principal_pk, version, status, response_type, content_bindings,
                                         push_protocol, push_address, push_message_binding, fingerprint)
       VALUES ($1, $2, $3, $4, 'ACTIVE', $5, $6::jsonb, $7, $8, $9, $10)
       ON CONFLICT (collection_pk, principal_pk, fingerprint) DO NOTHING
       RETURNING ${SUB_COLUMNS}`,
      [
        id,
        s.collectionPk,
        s.principalPk,
        s.version,
        s.responseType,
        JSON.stringify(s.contentBindings),
        s.push?.protocol ?? null,
        s.push?.address ?? null,
        s.push?.messageBinding ?? null,
        s.fingerprint,
      ],
    );
    if (inserted[0] !== undefined) return { row: subscriptionOf(inserted[0]), created: true };
    const [existing] = await this.ds.query<SubscriptionDbRow[]>(
      `SELECT ${SUB_COLUMNS} FROM taxii1_subscriptions WHERE collection_pk = $1 AND principal_pk = $2 AND fingerprint = $3`,
      [s.collectionPk, s.principalPk, s.fingerprint],
    );
    if (existing === undefined) throw new Error('subscription vanished while subscribing');
    return { row: subscriptionOf(existing), created: false };
  }

  async setStatus(pk: number, status: 'ACTIVE' | 'PAUSED'): Promise<void> {
    await this.ds.query(`UPDATE taxii1_subscriptions SET status = $2 WHERE pk = $1`, [pk, status]);
  }

  /** Deletes a subscription and its undelivered outbox entries. */
  async unsubscribe(pk: number): Promise<void> {
    await this.ds.query(`DELETE FROM taxii1_subscriptions WHERE pk = $1`, [pk]);
  }

  // --- push outbox ---

  /**
   * Claims up to `limit` deliveries that are due: for each active push subscription only its oldest
   * pending entry (so entries go out in order and at most one per subscription is in flight), and
   * only if no other worker holds its lease. The subscription rows are locked for the claim (SKIP
   * LOCKED), so two workers never claim for one subscription at once. Consecutive pending entries of
   * a subscription that has not failed yet are merged into the claimed one, so a burst of inbox
   * messages becomes one push. Each claim gets a token: only its holder can record the outcome, so a
   * worker whose lease ran out cannot undo what the next one did.
   */
  async claimDeliveries(limit: number, leaseMs: number): Promise<Delivery[]> {
    return this.ds.transaction(async (em) => {
      const subs = await em.query<SubscriptionDbRow[]>(
        `SELECT ${SUB_COLUMNS} FROM taxii1_subscriptions s
          WHERE s.status = 'ACTIVE' AND s.push_address IS NOT NULL
            AND EXISTS (SELECT 1 FROM (SELECT o.next_attempt_at, o.lease_until FROM taxii1_outbox o
                                        WHERE o.subscription_pk = s.pk AND o.state = 'pending' ORDER BY o.pk LIMIT 1) h
                         WHERE h.next_attempt_at <= now() AND (h.lease_until IS NULL OR h.lease_until < now()))
          ORDER BY s.pk
          LIMIT $1
          FOR NO KEY UPDATE OF s SKIP LOCKED`,
        [limit],
      );
      const out: Delivery[] = [];
      for (const sub of subs) {
        const d = await claimHead(em, subscriptionOf(sub), leaseMs);
        if (d !== undefined) out.push(d);
      }
      return out;
    });
  }

  /** The window was delivered up to `throughUs`; if that is short of the entry's end the rest, (throughUs, end_us], stays pending. */
  async delivered(d: Pick<Delivery, 'pk' | 'claim'>, throughUs: number, blocks: number): Promise<void> {
    await this.ds.query(
      `UPDATE taxii1_outbox
          SET blocks_delivered = blocks_delivered + $4, lease_until = NULL, claim = NULL, attempts = 0, last_error = NULL, first_failed_at = NULL,
              begin_us = $3,
              state = CASE WHEN $3 >= end_us THEN 'delivered' ELSE 'pending' END,
              finished_at = CASE WHEN $3 >= end_us THEN now() ELSE NULL END
        WHERE pk = $1 AND claim = $2`,
      [d.pk, d.claim, throughUs, blocks],
    );
  }

  /** A failed attempt: retried after `delayMs`; the first failure starts the give-up clock. */
  async retryLater(d: Pick<Delivery, 'pk' | 'claim'>, error: string, delayMs: number): Promise<void> {
    await this.ds.query(
      `UPDATE taxii1_outbox SET attempts = attempts + 1, last_error = $3, lease_until = NULL, claim = NULL,
              first_failed_at = COALESCE(first_failed_at, now()), next_attempt_at = now() + make_interval(secs => $4)
        WHERE pk = $1 AND claim = $2`,
      [d.pk, d.claim, error.slice(0, 2000), delayMs / 1000],
    );
  }

  async giveUp(d: Pick<Delivery, 'pk' | 'claim'>, error: string): Promise<void> {
    await this.ds.query(
      `UPDATE taxii1_outbox SET attempts = attempts + 1, state = 'failed', last_error = $3, lease_until = NULL, claim = NULL, finished_at = now()
        WHERE pk = $1 AND claim = $2`,
      [d.pk, d.claim, error.slice(0, 2000)],
    );
  }

  /** Sampled at every scrape: reads only the pending and failed rows (partial indexes), not the delivered history. */
  async outboxCounts(): Promise<OutboxCounts> {
    const [r] = await this.ds.query<{ pending: number; failed: number; oldest_ms: number | null }[]>(
      `SELECT p.n AS pending, (SELECT count(*)::int FROM taxii1_outbox WHERE state = 'failed') AS failed, p.oldest_ms
         FROM (SELECT count(*)::int AS n, (EXTRACT(EPOCH FROM min(created_at)) * 1000)::bigint AS oldest_ms
                 FROM taxii1_outbox WHERE state = 'pending') p`,
    );
    return { pending: r?.pending ?? 0, failed: r?.failed ?? 0, oldestPendingMs: r?.oldest_ms ?? undefined };
  }

  /** Outbox entries of one subscription, newest first (for operators and tests). */
  async outbox(subscriptionId: string): Promise<{ state: string; attempts: number; lastError: string | undefined; blocks: number }[]> {
    const rows = await this.ds.query<{ state: string; attempts: number; last_error: string | null; blocks_delivered: number }[]>(
      `SELECT o.state, o.attempts, o.last_error, o.blocks_delivered FROM taxii1_outbox o JOIN taxii1_subscriptions s ON s.pk = o.subscription_pk
        WHERE s.id = $1 ORDER BY o.pk DESC`,
      [subscriptionId],
    );
    return rows.map((r) => ({ state: r.state, attempts: r.attempts, lastError: r.last_error ?? undefined, blocks: r.blocks_delivered }));
  }

  /** Every TAXII 1.x subscription of an API root with its delivery state, for operators (`taxiway subscriptions`). */
  async subscriptionReport(rootPath: string): Promise<SubscriptionReport[]> {
    const rows = await this.ds.query<
      {
        id: string;
        collection: string;
        principal: string;
        version: string;
        status: string;
        response_type: string;
        push_address: string | null;
        pending: number;
        failed: number;
        delivered_blocks: number;
        last_error: string | null;
        created_at: Date;
      }[]
    >(
      `SELECT s.id, c.name AS collection, p.name AS principal, s.version, s.status, s.response_type, s.push_address, s.created_at,
              count(o.pk) FILTER (WHERE o.state = 'pending')::int AS pending,
              count(o.pk) FILTER (WHERE o.state = 'failed')::int AS failed,
              COALESCE(sum(o.blocks_delivered), 0)::int AS delivered_blocks,
              (SELECT o2.last_error FROM taxii1_outbox o2 WHERE o2.subscription_pk = s.pk AND o2.last_error IS NOT NULL ORDER BY o2.pk DESC LIMIT 1) AS last_error
         FROM taxii1_subscriptions s
         JOIN collections c ON c.pk = s.collection_pk
         JOIN api_roots r ON r.pk = c.api_root_pk
         JOIN principals p ON p.pk = s.principal_pk
         LEFT JOIN taxii1_outbox o ON o.subscription_pk = s.pk
        WHERE r.path = $1
        GROUP BY s.pk, c.name, p.name
        ORDER BY c.name, p.name, s.pk`,
      [rootPath],
    );
    return rows.map((r) => ({
      id: r.id,
      collection: r.collection,
      principal: r.principal,
      version: r.version,
      status: r.status,
      responseType: r.response_type,
      pushAddress: r.push_address ?? undefined,
      pending: r.pending,
      failed: r.failed,
      deliveredBlocks: r.delivered_blocks,
      lastError: r.last_error ?? undefined,
      createdAt: r.created_at,
    }));
  }

  /**
   * Puts a subscription's given-up deliveries back in the queue (after the subscriber's outage is
   * over): they are retried at once, in order, with a fresh give-up period. Returns how many.
   */
  async retryFailed(subscriptionId: string): Promise<number> {
    return this.count(
      `WITH queued AS (
         UPDATE taxii1_outbox o SET state = 'pending', attempts = 0, next_attempt_at = now(), created_at = now(), finished_at = NULL, lease_until = NULL
           FROM taxii1_subscriptions s
          WHERE s.pk = o.subscription_pk AND s.id = $1 AND o.state = 'failed'
         RETURNING 1)
       SELECT count(*)::int AS n FROM queued`,
      [subscriptionId],
    );
  }

  /** Deletes finished outbox entries older than the cut-off. */
  async purgeOutbox(olderThan: Date): Promise<number> {
    return this.count(
      `WITH gone AS (DELETE FROM taxii1_outbox WHERE state <> 'pending' AND finished_at < $1 RETURNING 1) SELECT count(*)::int AS n FROM gone`,
      [olderThan],
    );
  }

  /** The `n` of a statement that counts what it changed (TypeORM answers UPDATE/DELETE … RETURNING as [rows, count]). */
  private async count(sql: string, params: unknown[]): Promise<number> {
    const [r] = await this.ds.query<{ n: number }[]>(sql, params);
    return r?.n ?? 0;
  }
}

/** Leases the oldest pending entry of a subscription locked by the caller, if it is due and free. */
async function claimHead(em: EntityManager, subscription: SubscriptionRow, leaseMs: number): Promise<Delivery | undefined> {
  const [h] = await em.query<{ pk: number; attempts: number; failed_ms: number | null; begin_us: number; end_us: number }[]>(
    `SELECT pk, attempts, (EXTRACT(EPOCH FROM first_failed_at) * 1000)::bigint AS failed_ms, begin_us, end_us
       FROM taxii1_outbox WHERE subscription_pk = $1 AND state = 'pending' ORDER BY pk LIMIT 1 FOR UPDATE`,
    [subscription.pk],
  );
  if (h === undefined) return undefined;
  const merged = h.attempts === 0 ? await mergeFollowers(em, h.pk, subscription.pk) : undefined;
  const claim = randomUUID();
  const [leased] = await em.query<{ end_us: number }[]>(
    // (A CTE, as TypeORM answers a bare UPDATE … RETURNING with [rows, count].)
    `WITH leased AS (
       UPDATE taxii1_outbox SET lease_until = now() + make_interval(secs => $2), claim = $3, end_us = GREATEST(end_us, $4)
        WHERE pk = $1 AND next_attempt_at <= now() AND (lease_until IS NULL OR lease_until < now())
       RETURNING end_us)
     SELECT end_us FROM leased`,
    [h.pk, leaseMs / 1000, claim, merged ?? h.end_us],
  );
  if (leased === undefined) return undefined;
  return {
    pk: h.pk,
    claim,
    attempts: h.attempts,
    firstFailedAtMs: h.failed_ms ?? undefined,
    window: Window.of(h.begin_us, leased.end_us),
    subscription,
  };
}

/** Folds the pending entries queued after `headPk` into it; returns the new end, or undefined if none. */
async function mergeFollowers(em: EntityManager, headPk: number, subscriptionPk: number): Promise<number | undefined> {
  const rows = await em.query<{ end_us: number | null }[]>(
    `WITH gone AS (
       DELETE FROM taxii1_outbox WHERE subscription_pk = $1 AND state = 'pending' AND pk > $2 AND attempts = 0 AND lease_until IS NULL
       RETURNING end_us)
     SELECT max(end_us) AS end_us FROM gone`,
    [subscriptionPk, headPk],
  );
  return rows[0]?.end_us ?? undefined;
}
