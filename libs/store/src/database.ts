import type { DataSource } from 'typeorm';
import { createDataSource, migrate, migrationsAtHead, poolStats, type DatabaseTimeouts } from './data-source';
import { startEmbeddedDatabase, type EmbeddedDatabase } from './embedded';

export interface DatabaseOptions {
  /** A PostgreSQL URL; undefined starts the embedded PGlite default. */
  readonly url: string | undefined;
  /** The embedded database's data directory (undefined or ':memory:' keeps it in memory). */
  readonly dataDir?: string;
  /** Pool size on PostgreSQL; PGlite executes one statement at a time and always gets 1. */
  readonly poolSize: number;
  readonly timeouts?: DatabaseTimeouts;
}

/**
 * The database a process runs on, connected and migrated: a PostgreSQL server, or the embedded
 * PGlite default started here and stopped on close. It is the one handle the apps hold; the stores
 * of this library are built on it, so no driver or ORM type reaches the apps.
 */
export class Database {
  private constructor(
    /** The pool and transactions (TypeORM): for this library's stores and for test set-up only. */
    readonly dataSource: DataSource,
    /** The URL the pool connects to (PGlite's loopback socket when embedded): LISTEN and other replicas use it. */
    readonly url: string,
    private readonly embedded: EmbeddedDatabase | undefined,
    /** The migrations this open applied (empty when the schema was already at head). */
    readonly applied: readonly string[],
  ) {}

  /** Connects (starting PGlite first when no URL is given) and runs pending migrations under the advisory lock. */
  static async open(opts: DatabaseOptions): Promise<Database> {
    const embedded = opts.url === undefined ? await startEmbeddedDatabase(opts.dataDir === ':memory:' ? undefined : opts.dataDir) : undefined;
    const url = embedded === undefined ? opts.url : embedded.url;
    if (url === undefined) throw new Error('unreachable: no database URL');
    const ds = createDataSource(url, embedded === undefined ? opts.poolSize : 1, opts.timeouts);
    try {
      await ds.initialize();
      return new Database(ds, url, embedded, await migrate(ds));
    } catch (e: unknown) {
      if (ds.isInitialized) await ds.destroy();
      await embedded?.stop();
      throw e;
    }
  }

  /** True when this process runs the embedded PGlite (no other process can LISTEN on it). */
  get isEmbedded(): boolean {
    return this.embedded !== undefined;
  }

  /** True when every known migration is applied (readiness); rejects if the database does not answer in time. */
  migrationsAtHead(timeoutMs?: number): Promise<boolean> {
    return migrationsAtHead(this.dataSource, timeoutMs);
  }

  /** Connections in use, idle, and callers waiting for one (metrics). */
  poolStats(): { inUse: number; idle: number; waiting: number } | undefined {
    return poolStats(this.dataSource);
  }

  private closing: Promise<void> | undefined;

  /** Closes the pool, then stops PGlite if it runs here; a second call waits for the first. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        if (this.dataSource.isInitialized) await this.dataSource.destroy();
      } finally {
        await this.embedded?.stop();
      }
    })();
    return this.closing;
  }
}

/** What a store is built on: the apps' Database handle, or (in this library's tests) its DataSource. */
export type Connection = Database | DataSource;

export function dataSourceOf(c: Connection): DataSource {
  return c instanceof Database ? c.dataSource : c;
}
