import { Module } from '@nestjs/common';
import type { Database } from '@taxiway/store';
import { CatalogModule } from '../catalog/catalog.module';
import type { CatalogService } from '../catalog/catalog.service';
import { StoreModule } from '../store/store.module';
import { CATALOG, DATABASE, READINESS } from '../tokens';
import { HealthController, type Readiness } from './health.controller';

/**
 * Liveness and readiness. The first step of shutdown (not ready, then SHUTDOWN_DELAY_SECONDS) is
 * AppModule's: the root's hook runs before every other module's.
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
export class HealthModule {}

/** Readiness: database reachable, migrations at head, catalogue loaded, not draining. */
function createReadiness(database: Database, catalog: CatalogService): Readiness {
  const readiness: Readiness = {
    draining: false,
    serving: false,
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
