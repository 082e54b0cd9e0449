import type { DataSource } from 'typeorm';
import type { AuditAction, AuditEntry, AuditSink } from '@taxiway/domain';
import { dataSourceOf, type Connection } from './database';

export type AuditRecord = AuditEntry;

export interface AuditQuery {
  readonly limit: number;
  readonly principal?: string | undefined;
  readonly action?: AuditAction | undefined;
  readonly since?: Date | undefined;
}

interface AuditRow {
  at: Date;
  api_root: string;
  collection: string | null;
  principal: string;
  action: AuditAction;
  endpoint: string;
  object_count: number;
  status_id: string | null;
  detail: string | null;
}

/**
 * The audit log: batched, append-only. Entries are buffered in memory and written with one
 * multi-row INSERT per flush (every `flushMs`, or at `maxBatch` entries, and on close), so a read
 * costs the request path no database round trip.
 */
export class SqlAuditLog implements AuditSink {
  private buffer: AuditEntry[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private get maxBuffered(): number {
    return this.opts.maxBuffered ?? 100_000;
  }

  private readonly ds: DataSource;

  constructor(
    db: Connection,
    private readonly opts: { flushMs: number; maxBatch: number; onError: (err: unknown, dropped: number) => void; maxBuffered?: number },
  ) {
    this.ds = dataSourceOf(db);
    this.timer = setInterval(() => void this.flush(), opts.flushMs);
    this.timer.unref();
  }

  record(entry: AuditEntry): void {
    this.buffer.push(entry);
    if (this.buffer.length >= this.opts.maxBatch) void this.flush();
  }

  /**
   * Writes what is buffered; resolves when it (and any earlier flush) is in the database. A batch
   * that fails to write goes back to the front of the buffer and is retried on the next flush, up
   * to `maxBuffered` entries; past that the oldest are dropped, and the count is reported.
   */
  flush(): Promise<void> {
    const batch = this.buffer;
    if (batch.length === 0) return this.flushing;
    this.buffer = [];
    this.flushing = this.flushing.then(() => this.write(batch)).catch((err: unknown) => this.requeue(batch, err));
    return this.flushing;
  }

  private requeue(batch: AuditEntry[], err: unknown): void {
    const all = [...batch, ...this.buffer];
    const dropped = Math.max(0, all.length - this.maxBuffered);
    this.buffer = all.slice(dropped);
    this.opts.onError(err, dropped);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private async write(batch: readonly AuditEntry[]): Promise<void> {
    await this.ds.query(
      `INSERT INTO audit_log (at, api_root, collection, principal, action, endpoint, object_count, status_id, detail)
       SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::uuid[], $9::text[])`,
      [
        batch.map((e) => e.at),
        batch.map((e) => e.apiRoot),
        batch.map((e) => e.collection ?? null),
        batch.map((e) => e.principal),
        batch.map((e) => e.action),
        batch.map((e) => e.endpoint),
        batch.map((e) => e.objectCount),
        batch.map((e) => e.statusId ?? null),
        batch.map((e) => e.detail ?? null),
      ],
    );
  }

  /** The newest entries of an API root (by path), newest first, optionally of one principal or action. */
  async query(apiRootPath: string, q: AuditQuery): Promise<AuditRecord[]> {
    const rows: AuditRow[] = await this.ds.query(
      `SELECT at, api_root, collection, principal, action, endpoint, object_count, status_id, detail
         FROM audit_log
        WHERE api_root = $1 AND ($2::text IS NULL OR principal = $2) AND ($3::text IS NULL OR action = $3)
          AND ($4::timestamptz IS NULL OR at >= $4)
        ORDER BY id DESC LIMIT $5`,
      [apiRootPath, q.principal ?? null, q.action ?? null, q.since ?? null, q.limit],
    );
    return rows.map((r) => ({
      at: r.at,
      apiRoot: r.api_root,
      collection: r.collection ?? undefined,
      principal: r.principal,
      action: r.action,
      endpoint: r.endpoint,
      objectCount: r.object_count,
      statusId: r.status_id ?? undefined,
      detail: r.detail ?? undefined,
    }));
  }

  /** Removes entries older than `before` (the retention purge; the only DELETE the table allows). */
  async purge(before: Date): Promise<number> {
    return this.ds.transaction(async (em) => {
      await em.query(`SET LOCAL taxiway.audit_purge = 'on'`);
      const res: [unknown, number] = await em.query(`DELETE FROM audit_log WHERE at < $1`, [before]);
      return res[1];
    });
  }
}
