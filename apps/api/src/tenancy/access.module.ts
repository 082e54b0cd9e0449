import { Module } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import { createAuthenticator, type Authenticator, type AuthSettings } from '@taxiway/auth';
import type { Config } from '@taxiway/config';
import type { ApiMetrics } from '@taxiway/metrics';
import type { SqlCatalogStore } from '@taxiway/store';
import { CatalogModule } from '../catalog/catalog.module';
import type { CatalogService } from '../catalog/catalog.service';
import { MetricsModule } from '../metrics/metrics.module';
import { StoreModule } from '../store/store.module';
import { ACCESS_HOOKS, API_METRICS, AUTHENTICATOR, CATALOG, CATALOG_STORE, CONFIG, FASTIFY } from '../tokens';
import { installAccessLog } from './access-log';
import { installTenancy } from './tenancy.hook';

/** A credential that verified stays exempt from the failure throttle this long (on this replica). */
const TRUSTED_CREDENTIAL_SECONDS = 86_400;

/**
 * The access pipeline: libs/auth's authenticator over the catalogue's access index, run by the
 * tenancy hook before any body byte is read, and the access log.
 */
@Module({
  imports: [StoreModule, CatalogModule, MetricsModule],
  providers: [
    {
      provide: AUTHENTICATOR,
      inject: [CONFIG, CATALOG_STORE, CATALOG, API_METRICS],
      useFactory: async (config: Config, store: SqlCatalogStore, catalog: CatalogService, metrics: ApiMetrics): Promise<Authenticator> =>
        createAuthenticator(authSettings(config, await store.secret('taxii1-jwt-hmac')), () => catalog.access, attemptObserver(config, metrics)),
    },
    {
      // Installed while the container is built, before Nest registers its routes (ADR 0014).
      provide: ACCESS_HOOKS,
      inject: [CONFIG, FASTIFY, CATALOG, AUTHENTICATOR],
      useFactory: (config: Config, fastify: FastifyInstance, catalog: CatalogService, auth: Authenticator): true => {
        installTenancy(fastify, catalog, auth, config.http);
        installAccessLog(fastify);
        return true;
      },
    },
  ],
  exports: [AUTHENTICATOR, ACCESS_HOOKS],
})
export class AccessModule {}

/** Counts authentication attempts and slow hashes (unless METRICS_ENABLED=false). */
function attemptObserver(config: Config, metrics: ApiMetrics): ((method: string, result: string, hashed: boolean) => void) | undefined {
  if (!config.metricsEnabled) return undefined;
  return (method, result, hashed) => {
    metrics.authAttempts.inc({ method, result });
    if (hashed) metrics.authHashes.inc();
  };
}

/** The access pipeline's settings from the environment (AUTH_*, RATE_LIMIT_*, TRUSTED_PROXIES). */
function authSettings(config: Config, jwtKey: Buffer): AuthSettings {
  const perSecond = config.rateLimitPerSecond;
  return {
    cacheSeconds: config.authCacheSeconds,
    trustSeconds: TRUSTED_CREDENTIAL_SECONDS,
    failuresPerMinutePerAddress: config.authFailuresPerMinutePerAddress,
    failuresPerMinutePerAddressAndUser: config.authFailuresPerMinutePerUser,
    hashesPerSecond: config.authHashesPerSecond,
    defaultRate: perSecond === 0 ? undefined : { perSecond, burst: config.rateLimitBurst > 0 ? config.rateLimitBurst : Math.max(1, 2 * perSecond) },
    trustedProxies: config.trustedProxies,
    jwtKey,
    jwtTtlSeconds: config.taxii1.jwtTtlSeconds,
  };
}
