import { Inject, Module, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Authenticator } from '@taxiway/auth';
import type { Config } from '@taxiway/config';
import type { Taxii1Store } from '@taxiway/domain';
import type { ApiMetrics } from '@taxiway/metrics';
import type { SqlAuditLog } from '@taxiway/store';
import { CatalogModule } from '../catalog/catalog.module';
import type { CatalogService } from '../catalog/catalog.service';
import { MetricsModule } from '../metrics/metrics.module';
import { StoreModule } from '../store/store.module';
import type { SharingMeter } from '../taxii/taxii.service';
import { AccessModule } from '../tenancy/access.module';
import {
  ACCESS_HOOKS,
  API_METRICS,
  AUDIT_LOG,
  AUTHENTICATOR,
  CATALOG,
  CONFIG,
  FASTIFY,
  LOGGER,
  PUSH_WORKER,
  SHARING_METER,
  TAXII1_SERVICE,
  TAXII1_STORE,
} from '../tokens';
import { shutdownStage } from '../lifecycle';
import { PushWorker } from './push-worker';
import { installTaxii1 } from './taxii1.http';
import { Taxii1Service } from './taxii1.service';

/** Whether the TAXII 1.x routes were registered (TAXII1_ENABLED). */
const TAXII1_ROUTES = Symbol('TAXII1_ROUTES');

/**
 * TAXII 1.0/1.1 (unless TAXII1_ENABLED=false): its routes, which it registers on Fastify itself
 * (XML bodies and TAXII message answers are not Nest controllers' business), its service, and the
 * push worker that delivers subscriptions (unless TAXII1_PUSH_ENABLED=false), stopped before the
 * HTTP server closes.
 */
@Module({
  imports: [StoreModule, CatalogModule, AccessModule, MetricsModule],
  providers: [
    {
      provide: PUSH_WORKER,
      inject: [CONFIG, TAXII1_STORE, CATALOG, LOGGER, API_METRICS],
      useFactory: (config: Config, store: Taxii1Store, catalog: CatalogService, log: FastifyBaseLogger, metrics: ApiMetrics): PushWorker | null =>
        config.taxii1.enabled && config.taxii1.pushEnabled
          ? new PushWorker({ store, catalog, config: config.taxii1, log, metrics: config.metricsEnabled ? metrics : undefined })
          : null,
    },
    {
      provide: TAXII1_SERVICE,
      inject: [CONFIG, TAXII1_STORE, CATALOG, AUDIT_LOG, SHARING_METER, PUSH_WORKER],
      useFactory: (config: Config, store: Taxii1Store, catalog: CatalogService, audit: SqlAuditLog, meter: SharingMeter, push: PushWorker | null) =>
        new Taxii1Service(store, catalog, config, { audit, meter, nudgePush: () => push?.nudge() }),
    },
    {
      // The routes are registered while the container is built, before Nest registers its own
      // (ADR 0014), and after the access pipeline's hooks (injected), so that its onRequest hook runs second.
      provide: TAXII1_ROUTES,
      inject: [CONFIG, FASTIFY, TAXII1_SERVICE, TAXII1_STORE, CATALOG, AUTHENTICATOR, API_METRICS, ACCESS_HOOKS],
      useFactory: (
        config: Config,
        fastify: FastifyInstance,
        service: Taxii1Service,
        store: Taxii1Store,
        catalog: CatalogService,
        auth: Authenticator,
        metrics: ApiMetrics,
      ): boolean => {
        if (!config.taxii1.enabled) return false;
        installTaxii1(fastify, { service, store, catalog, auth, config, metrics: config.metricsEnabled ? metrics : undefined });
        return true;
      },
    },
  ],
  exports: [PUSH_WORKER],
})
export class Taxii1Module implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(
    @Inject(PUSH_WORKER) private readonly pushWorker: PushWorker | null,
    @Inject(LOGGER) private readonly log: FastifyBaseLogger,
  ) {}

  onApplicationBootstrap(): void {
    this.pushWorker?.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await shutdownStage(this.log, 'push worker', () => this.pushWorker?.stop());
  }
}
