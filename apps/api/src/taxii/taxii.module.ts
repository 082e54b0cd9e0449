import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '@taxiway/config';
import { CursorCodec, type ObjectStore } from '@taxiway/domain';
import type { ApiMetrics } from '@taxiway/metrics';
import type { SqlAuditLog, SqlCatalogStore } from '@taxiway/store';
import { CatalogModule } from '../catalog/catalog.module';
import { IngestPool } from '../ingest/ingest-pool';
import { MeteredObjectStore } from '../metrics/metered-store';
import { MetricsModule } from '../metrics/metrics.module';
import { StoreModule } from '../store/store.module';
import { shutdownStage } from '../lifecycle';
import { API_METRICS, AUDIT_LOG, CATALOG_STORE, CONFIG, INGEST_POOL, LOGGER, OBJECT_STORE, SHARING_METER, TAXII_SERVICE } from '../tokens';
import { CollectionsController } from './collections.controller';
import { DiscoveryController } from './discovery.controller';
import { TaxiiService, type SharingMeter } from './taxii.service';

/** Add Objects bodies up to this size are prepared on the event loop (a few ms); larger ones by an ingest worker. */
const INGEST_INLINE_BYTES = 256 * 1024;

/**
 * TAXII 2.1: the discovery and collection endpoints, the service behind them, and the ingest
 * workers that prepare large envelopes off the event loop (stopped after the HTTP server drained).
 */
@Module({
  imports: [StoreModule, CatalogModule, MetricsModule],
  controllers: [DiscoveryController, CollectionsController],
  providers: [
    {
      provide: INGEST_POOL,
      inject: [CONFIG],
      useFactory: (config: Config) => new IngestPool({ workers: config.ingestWorkers, inlineBytes: INGEST_INLINE_BYTES }),
    },
    {
      provide: TAXII_SERVICE,
      inject: [CONFIG, OBJECT_STORE, CATALOG_STORE, INGEST_POOL, AUDIT_LOG, SHARING_METER, API_METRICS],
      useFactory: async (
        config: Config,
        sql: ObjectStore,
        catalogStore: SqlCatalogStore,
        ingest: IngestPool,
        audit: SqlAuditLog,
        meter: SharingMeter,
        metrics: ApiMetrics,
      ): Promise<TaxiiService> => {
        const objects = config.metricsEnabled ? new MeteredObjectStore(sql, metrics) : sql;
        // The `next` token HMAC key: CURSOR_SECRET, else the one generated once and kept in the database.
        const key = config.cursorSecret !== undefined ? Buffer.from(config.cursorSecret, 'utf8') : await catalogStore.secret('cursor-hmac');
        return new TaxiiService({ objects, preparer: ingest }, new CursorCodec(key, config.cursorTtlSeconds), config, { audit, meter });
      },
    },
  ],
  exports: [TAXII_SERVICE],
})
export class TaxiiModule implements OnApplicationShutdown {
  constructor(
    @Inject(INGEST_POOL) private readonly ingest: IngestPool,
    @Inject(LOGGER) private readonly log: FastifyBaseLogger,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await shutdownStage(this.log, 'ingest workers', () => this.ingest.close());
  }
}
