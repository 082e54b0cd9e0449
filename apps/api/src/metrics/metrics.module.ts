import { timingSafeEqual } from 'node:crypto';
import type { Server } from 'node:http';
import { Module, type OnApplicationShutdown } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import type { Config } from '@taxiway/config';
import type { Taxii1Store } from '@taxiway/domain';
import { ApiMetrics } from '@taxiway/metrics';
import type { Database } from '@taxiway/store';
import { StoreModule } from '../store/store.module';
import type { SharingMeter } from '../taxii/taxii.service';
import { API_METRICS, CONFIG, DATABASE, FASTIFY, SHARING_METER, TAXII1_STORE } from '../tokens';
import { installHttpMetrics, metricsText, startMetricsServer, type ScrapeHook } from './http-metrics';
import { MetricsSharingMeter } from './sharing-meter';

const TAXII_MEDIA_TYPE = 'application/taxii+json;version=2.1';

/** With METRICS_ENABLED=false: counts nothing. */
const NO_METER: SharingMeter = { ingested: () => undefined, served: () => undefined };

/**
 * The /metrics exposition: the registry plus gauges sampled at scrape time (pool, outbox), served on
 * its own listener (METRICS_PORT) and, with METRICS_TOKEN, on the TAXII port.
 */
export class MetricsEndpoint implements OnApplicationShutdown {
  private server: Server | undefined;
  private serverUrl = '';
  private readonly hooks: readonly ScrapeHook[];

  constructor(
    private readonly config: Config,
    private readonly metrics: ApiMetrics,
    samplers: { readonly database: Database; readonly taxii1: Taxii1Store },
  ) {
    this.hooks = [poolSampler(samplers.database, metrics, config), outboxSampler(samplers.taxii1, metrics)];
  }

  /** Counts every answer (onResponse hook) and serves /metrics on the TAXII port (token-guarded). */
  install(fastify: FastifyInstance): void {
    if (this.config.metricsEnabled) installHttpMetrics(fastify, this.metrics);
    installMetricsRoute(fastify, this.config, () => this.text(), this.metrics.registry.contentType);
  }

  /** The exposition as a scrape would get it. */
  text(): Promise<string> {
    return metricsText(this.metrics, this.hooks);
  }

  /** Where the METRICS_PORT listener serves, once started ('' before, or when there is none). */
  get url(): string {
    return this.serverUrl;
  }

  /** Starts the METRICS_PORT listener (with the TAXII listener; none when METRICS_PORT=0 or metrics are off). */
  async start(): Promise<void> {
    const { metricsHost: host, metricsPort: port } = this.config;
    if (port === 0 || !this.config.metricsEnabled || this.server !== undefined) return;
    const started = await startMetricsServer(this.metrics, this.hooks, host, port);
    this.server = started.server;
    this.serverUrl = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${started.port}/metrics`;
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (server !== undefined) await new Promise<void>((r) => server.close(() => r()));
  }
}

/** The metrics registry and what feeds it: the HTTP hook, the sharing meter, scrape-time samplers. */
@Module({
  imports: [StoreModule],
  providers: [
    {
      provide: API_METRICS,
      inject: [CONFIG],
      useFactory: (config: Config) => new ApiMetrics({ perCollection: config.metricsPerCollection, perPrincipal: config.metricsPerPrincipal }),
    },
    {
      provide: SHARING_METER,
      inject: [CONFIG, API_METRICS],
      useFactory: (config: Config, metrics: ApiMetrics): SharingMeter => (config.metricsEnabled ? new MetricsSharingMeter(metrics) : NO_METER),
    },
    {
      // Its hook and route are installed while the container is built, before Nest registers its routes (ADR 0014).
      provide: MetricsEndpoint,
      inject: [CONFIG, API_METRICS, FASTIFY, DATABASE, TAXII1_STORE],
      useFactory: (config: Config, metrics: ApiMetrics, fastify: FastifyInstance, database: Database, taxii1: Taxii1Store) => {
        const endpoint = new MetricsEndpoint(config, metrics, { database, taxii1 });
        endpoint.install(fastify);
        return endpoint;
      },
    },
  ],
  exports: [API_METRICS, SHARING_METER, MetricsEndpoint],
})
export class MetricsModule {}

function errorBody(requestId: string, status: 404 | 401, description: string): string {
  const [title, code] = status === 404 ? ['Not found', 'NotFound'] : ['Authentication required', 'Unauthenticated'];
  return JSON.stringify({ title, description, error_id: requestId, error_code: code, http_status: String(status) });
}

/** True if `header` is `Bearer <token>` (compared in constant time). */
function bearerMatches(header: string | undefined, token: string): boolean {
  const presented = Buffer.from(/^bearer\s+(\S+)$/i.exec(header?.trim() ?? '')?.[1] ?? '');
  const expected = Buffer.from(token);
  return presented.length === expected.length && timingSafeEqual(presented, expected);
}

/**
 * /metrics names every tenant's roots, collections and consumers, so it is never served anonymously
 * where TAXII clients connect: it lives on its own listener (METRICS_PORT, reached by the
 * ServiceMonitor and allowed by the chart's NetworkPolicy), and on the TAXII port only with
 * METRICS_TOKEN as a bearer token.
 */
function installMetricsRoute(fastify: FastifyInstance, config: Config, text: () => Promise<string>, contentType: string): void {
  fastify.get('/metrics', async (req, reply) => {
    const token = config.metricsToken;
    if (token === undefined || !config.metricsEnabled) {
      return reply
        .code(404)
        .header('content-type', TAXII_MEDIA_TYPE)
        .send(errorBody(req.id, 404, 'The metrics are served on METRICS_PORT'));
    }
    if (!bearerMatches(req.headers.authorization, token)) {
      return reply
        .code(401)
        .header('content-type', TAXII_MEDIA_TYPE)
        .header('www-authenticate', 'Bearer realm="taxiway-metrics"')
        .send(errorBody(req.id, 401, 'The metrics on this port need METRICS_TOKEN as a bearer token'));
    }
    return reply.header('content-type', contentType).send(await text());
  });
}

/** Samples the pg pool (in use, idle, waiting) at scrape time. */
function poolSampler(database: Database, m: ApiMetrics, config: Config): ScrapeHook {
  return () => {
    m.dbPoolMax.set(config.databaseUrl === undefined ? 1 : config.dbPoolSize);
    const pool = database.poolStats();
    if (pool === undefined) return;
    m.dbPool.set({ state: 'in_use' }, pool.inUse);
    m.dbPool.set({ state: 'idle' }, pool.idle);
    m.dbPool.set({ state: 'waiting' }, pool.waiting);
  };
}

/** Outbox depth at scrape time (one small aggregate query). */
function outboxSampler(store: Taxii1Store, m: ApiMetrics): ScrapeHook {
  return async () => {
    const c = await store.outboxCounts();
    m.outboxEntries.set({ state: 'pending' }, c.pending);
    m.outboxEntries.set({ state: 'failed' }, c.failed);
    m.outboxOldestPending.set(c.oldestPendingMs === undefined ? 0 : Math.max(0, (Date.now() - c.oldestPendingMs) / 1000));
  };
}
