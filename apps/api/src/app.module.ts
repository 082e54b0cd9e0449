import { Inject, Module, type BeforeApplicationShutdown, type DynamicModule } from '@nestjs/common';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '@taxiway/config';
import { CatalogModule } from './catalog/catalog.module';
import { CoreModule } from './core.module';
import type { Readiness } from './health/health.controller';
import { HealthModule } from './health/health.module';
import type { StartupResources } from './lifecycle';
import { MetricsModule } from './metrics/metrics.module';
import type { ServerOptions } from './server';
import { StoreModule } from './store/store.module';
import { TaxiiModule } from './taxii/taxii.module';
import { Taxii1Module } from './taxii1/taxii1.module';
import { AccessModule } from './tenancy/access.module';
import { CONFIG, LOGGER, READINESS } from './tokens';

/**
 * The composition root: one module per capability, each building its providers from the typed
 * configuration and owning its start and stop (ADR 0014). Nest starts the deepest modules first
 * (database, stores, catalogue) and shuts down from here inwards: this module answers not-ready
 * and waits the shutdown delay, the push worker and purges stop, the HTTP server drains, then the
 * ingest workers, metrics listener, catalogue listener, audit log and finally the database close.
 */
@Module({})
export class AppModule implements BeforeApplicationShutdown {
  constructor(
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly log: FastifyBaseLogger,
    @Inject(READINESS) private readonly readiness: Readiness,
  ) {}

  static forRoot(config: Config, options: ServerOptions, startup: StartupResources): DynamicModule {
    return {
      module: AppModule,
      imports: [CoreModule.forRoot(config, options, startup), HealthModule, StoreModule, CatalogModule, MetricsModule, AccessModule, TaxiiModule, Taxii1Module],
    };
  }

  /**
   * The first step of shutdown (the root module's hook runs before every other's): answer not
   * ready, then wait SHUTDOWN_DELAY_SECONDS so load balancers stop sending, before the push worker
   * stops and the HTTP server drains. A server that never listened has nobody to wait for.
   */
  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.log.info({ signal }, 'shutting down');
    this.readiness.draining = true;
    if (this.readiness.serving && this.config.shutdownDelaySeconds > 0) await new Promise((r) => setTimeout(r, this.config.shutdownDelaySeconds * 1000));
  }
}
