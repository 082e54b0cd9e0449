import { Module, type DynamicModule } from '@nestjs/common';
import type { Config } from '@taxiway/config';
import { CatalogModule } from './catalog/catalog.module';
import { CoreModule } from './core.module';
import { HealthModule } from './health/health.module';
import { MetricsModule } from './metrics/metrics.module';
import type { ServerOptions } from './server';
import { StoreModule } from './store/store.module';
import { TaxiiModule } from './taxii/taxii.module';
import { Taxii1Module } from './taxii1/taxii1.module';
import { AccessModule } from './tenancy/access.module';

/**
 * The composition root: one module per capability, each building its providers from the typed
 * configuration and owning its start and stop (ADR 0014). Nest starts the deepest modules first
 * (database, stores, catalogue) and shuts down from here inwards: health answers not-ready, the
 * push worker and purges stop, the HTTP server drains, then the ingest workers, metrics listener,
 * audit log, catalogue listener and finally the database close.
 */
@Module({})
export class AppModule {
  static forRoot(config: Config, options: ServerOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [CoreModule.forRoot(config, options), HealthModule, StoreModule, CatalogModule, MetricsModule, AccessModule, TaxiiModule, Taxii1Module],
    };
  }
}
