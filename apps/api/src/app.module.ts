import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { HealthController } from './health/health.controller';
import { CollectionsController } from './taxii/collections.controller';
import { DiscoveryController } from './taxii/discovery.controller';

@Module({})
export class AppModule {
  /** The composition root hands in the already-built services (database, catalogue, TAXII service). */
  static with(providers: Provider[]): DynamicModule {
    return { module: AppModule, controllers: [HealthController, DiscoveryController, CollectionsController], providers };
  }
}
