import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '@taxiway/config';
import { loadDesiredStateFile } from '@taxiway/control';
import type { Database, SqlCatalogStore } from '@taxiway/store';
import type { ServerOptions } from '../server';
import { shutdownStage, type StartupResources } from '../lifecycle';
import { CATALOG, CATALOG_STORE, CONFIG, DATABASE, LOGGER, SERVER_OPTIONS, STARTUP } from '../tokens';
import { StoreModule } from '../store/store.module';
import { CatalogService } from './catalog.service';

/** The periodic reload behind LISTEN/NOTIFY. */
const RELOAD_MS = 30_000;

/**
 * The catalogue: the configuration file (or the state given in code) applied through libs/control
 * at start, then the routing tables and access index, reloaded on NOTIFY from any replica or the
 * operator.
 */
@Module({
  imports: [StoreModule],
  providers: [
    {
      // Loaded while the container is built: the work of start-up is done in async factories, never
      // in onModuleInit, which runs between Nest's route registration and its error handler (ADR 0014).
      provide: CATALOG,
      inject: [CONFIG, SERVER_OPTIONS, DATABASE, CATALOG_STORE, LOGGER, STARTUP],
      useFactory: async (
        config: Config,
        options: ServerOptions,
        database: Database,
        store: SqlCatalogStore,
        log: FastifyBaseLogger,
        startup: StartupResources,
      ) => {
        const state = options.state ?? (config.configFile !== undefined ? loadDesiredStateFile(config.configFile) : undefined);
        if (state !== undefined) await store.applyDesiredState(state, { prune: true });
        const catalog = new CatalogService(store, log);
        startup.add(() => catalog.close());
        await catalog.reload();
        // PGlite serves this process only: no other writer can NOTIFY it, and the periodic reload suffices.
        await catalog.watch(database.isEmbedded ? undefined : database.url, RELOAD_MS, config.database.connectTimeoutMs);
        return catalog;
      },
    },
  ],
  exports: [CATALOG],
})
export class CatalogModule implements OnApplicationShutdown {
  constructor(
    @Inject(CATALOG) private readonly catalog: CatalogService,
    @Inject(LOGGER) private readonly log: FastifyBaseLogger,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await shutdownStage(this.log, 'catalogue listener', () => this.catalog.close());
  }
}
