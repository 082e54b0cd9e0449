import { Inject, Module, type BeforeApplicationShutdown } from '@nestjs/common';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '@taxiway/config';
import type { Database } from '@taxiway/store';
import { CatalogModule } from '../catalog/catalog.module';
import type { CatalogService } from '../catalog/catalog.service';
import { StoreModule } from '../store/store.module';
import { CATALOG, CONFIG, DATABASE, LOGGER, READINESS } from '../tokens';
import { HealthController, type Readiness } from './health.controller';

/**
 * Liveness and readiness. On shutdown it answers not-ready first and waits SHUTDOWN_DELAY_SECONDS,
 * so load balancers stop sending before the HTTP server closes and drains.
 */
@Module({
  imports: [StoreModule, CatalogModule],
  controllers: [HealthController],
  providers: [
    {
      provide: READINESS,
      inject: [DATABASE, CATALOG],
      useFactory: (database: Database, catalog: CatalogService) => createReadiness(database, catalog),
    },
  ],
  exports: [READINESS],
})
export class HealthModule implements BeforeApplicationShutdown {
  constructor(
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly log: FastifyBaseLogger,
    @Inject(READINESS) private readonly readiness: Readiness,
  ) {}

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.log.info({ signal }, 'shutting down');
    this.readiness.draining = true;
    if (this.config.shutdownDelaySeconds > 0) await new Promise((r) => setTimeout(r, this.config.shutdownDelaySeconds * 1000));
  }
}

/** Readiness: database reachable, migrations at head, catalogue loaded, not draining. */
function createReadiness(database: Database, catalog: CatalogService): Readiness {
  const readiness: Readiness = {
    draining: false,
    async check() {
      let db = true;
      let migrations = false;
      try {
        migrations = await database.migrationsAtHead();
      } catch {
        db = false;
      }
      return { database: db, migrations, catalog: catalog.loaded, accepting: !readiness.draining };
    },
  };
  return readiness;
}
