import { Inject, Module, type BeforeApplicationShutdown, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '@taxiway/config';
import { nowUs } from '@taxiway/domain';
import { Database, SqlAuditLog, SqlCatalogStore, SqlObjectStore, SqlTaxii1Store } from '@taxiway/store';
import { shutdownStage, type StartupResources } from '../lifecycle';
import { AUDIT_LOG, CATALOG_STORE, CONFIG, DATABASE, LOGGER, OBJECT_STORE, STARTUP, TAXII1_STORE } from '../tokens';

const HOUR_MS = 3_600_000;

/**
 * The database (PostgreSQL, or embedded PGlite when DATABASE_URL is unset), connected and migrated
 * under the advisory lock. Its own module so that it is the deepest: Nest shuts modules down from
 * the root inwards, so the pool closes after everything that uses it.
 */
@Module({
  providers: [
    {
      provide: DATABASE,
      inject: [CONFIG, STARTUP],
      useFactory: async (config: Config, startup: StartupResources) => {
        const database = await Database.open({
          url: config.databaseUrl,
          dataDir: config.dataDir,
          poolSize: config.dbPoolSize,
          timeouts: { connectMs: config.database.connectTimeoutMs, statementMs: config.database.statementTimeoutMs },
        });
        startup.add(() => database.close());
        return database;
      },
    },
  ],
  exports: [DATABASE],
})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(
    @Inject(DATABASE) private readonly database: Database,
    @Inject(LOGGER) private readonly log: FastifyBaseLogger,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await shutdownStage(this.log, 'database', () => this.database.close());
  }
}

/**
 * The stores of libs/store over the database: catalogue, objects (TAXII 2.1), TAXII 1.x, and the
 * batched audit log; and their retention (hourly purges). The audit log is flushed on shutdown,
 * after the HTTP server has drained.
 */
@Module({
  imports: [DatabaseModule],
  providers: [
    { provide: CATALOG_STORE, inject: [DATABASE], useFactory: (db: Database) => new SqlCatalogStore(db.dataSource) },
    { provide: OBJECT_STORE, inject: [DATABASE], useFactory: (db: Database) => new SqlObjectStore(db.dataSource) },
    { provide: TAXII1_STORE, inject: [DATABASE], useFactory: (db: Database) => new SqlTaxii1Store(db.dataSource) },
    {
      provide: AUDIT_LOG,
      inject: [DATABASE, LOGGER],
      useFactory: (db: Database, log: FastifyBaseLogger) =>
        new SqlAuditLog(db.dataSource, {
          flushMs: 1000,
          maxBatch: 500,
          onError: (err: unknown, dropped: number) => log.error({ err, dropped }, 'audit flush failed; will retry'),
        }),
    },
  ],
  exports: [DatabaseModule, CATALOG_STORE, OBJECT_STORE, TAXII1_STORE, AUDIT_LOG],
})
export class StoreModule implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private purges: NodeJS.Timeout | undefined;

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly log: FastifyBaseLogger,
    @Inject(OBJECT_STORE) private readonly objects: SqlObjectStore,
    @Inject(TAXII1_STORE) private readonly taxii1: SqlTaxii1Store,
    @Inject(AUDIT_LOG) private readonly audit: SqlAuditLog,
  ) {}

  /**
   * Hourly: status resources older than STATUS_RETENTION_HOURS, audit entries older than
   * AUDIT_RETENTION_DAYS, expired TAXII 1.x result sets, and outbox entries finished over a week
   * ago. The timer does not keep the process alive.
   */
  onApplicationBootstrap(): void {
    const { config, log } = this;
    this.purges = setInterval(() => {
      this.objects.purgeStatuses(nowUs() - config.statusRetentionHours * HOUR_MS * 1000).catch((err: unknown) => log.error({ err }, 'status purge failed'));
      this.audit.purge(new Date(Date.now() - config.auditRetentionDays * 24 * HOUR_MS)).catch((err: unknown) => log.error({ err }, 'audit purge failed'));
      this.taxii1.purgeResultSets().catch((err: unknown) => log.error({ err }, 'result set purge failed'));
      this.taxii1.purgeOutbox(new Date(Date.now() - 7 * 24 * HOUR_MS)).catch((err: unknown) => log.error({ err }, 'outbox purge failed'));
    }, HOUR_MS);
    this.purges.unref();
  }

  beforeApplicationShutdown(): void {
    clearInterval(this.purges);
  }

  /** After the HTTP server has drained: what the last requests audited is written. */
  async onApplicationShutdown(): Promise<void> {
    await shutdownStage(this.log, 'audit log', () => this.audit.close());
  }
}
