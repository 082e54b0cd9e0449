import 'reflect-metadata';
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { DataSource } from 'typeorm';
import { createAuthenticator, type Authenticator, type AuthSettings } from '@taxiway/auth';
import type { Config, TlsConfig } from '@taxiway/config';
import { loadDesiredStateFile } from '@taxiway/control';
import { CursorCodec, nowUs, type DesiredState, type ObjectStore, type Taxii1Store } from '@taxiway/domain';
import {
  createDataSource,
  poolStats,
  migrate,
  migrationsAtHead,
  SqlAuditLog,
  SqlCatalogStore,
  SqlObjectStore,
  SqlTaxii1Store,
  startEmbeddedDatabase,
  type EmbeddedDatabase,
} from '@taxiway/store';
import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { ApiMetrics } from '@taxiway/metrics';
import { AppModule } from './app.module';
import { installHttpMetrics, metricsText, startMetricsServer, type ScrapeHook } from './metrics/http-metrics';
import { MeteredObjectStore } from './metrics/metered-store';
import { MetricsSharingMeter } from './metrics/sharing-meter';
import { CatalogService } from './catalog/catalog.service';
import type { Readiness } from './health/health.controller';
import { frameworkErrorJson, TaxiiExceptionFilter } from './http/taxii-exception.filter';
import { sendTaxii } from './http/media';
import { boundLine, errSerializer } from './http/log-bounds';
import { TaxiiService, type SharingMeter } from './taxii/taxii.service';
import { CATALOG, CONFIG, READINESS, TAXII_SERVICE } from './taxii/tokens';
import { installTenancy } from './tenancy/tenancy.hook';
import { IngestPool } from './ingest/ingest-pool';
import { PushWorker } from './taxii1/push-worker';
import { installTaxii1 } from './taxii1/taxii1.http';
import { Taxii1Service } from './taxii1/taxii1.service';

/** Add Objects bodies up to this size are prepared on the event loop (a few ms); larger ones by an ingest worker. */
const INGEST_INLINE_BYTES = 256 * 1024;

export interface TaxiwayServer {
  readonly app: NestFastifyApplication;
  readonly dataSource: DataSource;
  readonly catalog: CatalogService;
  /** The batched audit log (flush() to make buffered entries visible). */
  readonly audit: SqlAuditLog;
  readonly metrics: ApiMetrics;
  /** TAXII 1.x storage (subscriptions, outbox) and the push worker (undefined with TAXII1_PUSH_ENABLED=false). */
  readonly taxii1Store: Taxii1Store;
  readonly pushWorker: PushWorker | undefined;
  /** The /metrics exposition as a scrape would get it. */
  metricsText(): Promise<string>;
  /** Where /metrics is served: the TAXII URL, or the METRICS_PORT server's. */
  readonly metricsUrl: () => string;
  /** Listens on config.host:config.port (0 = any free port) and returns the base URL. */
  listen(): Promise<string>;
  /** Applies desired state through the same path as the config file, then reloads the catalogue. */
  apply(state: DesiredState, prune?: boolean): Promise<void>;
  close(): Promise<void>;
}

export interface ServerOptions {
  /** Desired state applied at start instead of reading config.configFile. */
  readonly state?: DesiredState;
  /** Fastify/pino logger options (level, stream); false silences logs. */
  readonly logger?: boolean | { readonly level: string; readonly stream?: { write(line: string): void } };
}

const HOUR_MS = 3_600_000;

/** The database the server runs on, connected and migrated. */
interface Database {
  readonly ds: DataSource;
  readonly url: string;
  /** Set when the server runs embedded PGlite (DATABASE_URL unset); stopped on close. */
  readonly embedded: EmbeddedDatabase | undefined;
}

/**
 * Composition root: database (PostgreSQL, or embedded PGlite when DATABASE_URL is unset), migrations
 * under an advisory lock, the configuration applied through libs/control, the catalogue cache, then
 * the NestJS application on Fastify.
 */
export async function createTaxiwayServer(config: Config, opts: ServerOptions = {}): Promise<TaxiwayServer> {
  const { ds, url: databaseUrl, embedded } = await openDatabase(config);
  const catalogStore = new SqlCatalogStore(ds);
  const state = opts.state ?? initialState(config);
  if (state !== undefined) await catalogStore.applyDesiredState(state, { prune: true });
  const cursorKey = await cursorKeyOf(config, catalogStore);

  const adapter = createAdapter(config, opts);
  const fastify = adapter.getInstance();
  fastify.server.headersTimeout = config.http.headersTimeoutMs;
  const catalog = new CatalogService(catalogStore, fastify.log);
  await catalog.reload();
  await catalog.watch(embedded === undefined ? databaseUrl : undefined, 30_000, config.database.connectTimeoutMs);
  const metrics = new ApiMetrics({ perCollection: config.metricsPerCollection, perPrincipal: config.metricsPerPrincipal });
  const auth = createAuthenticator(authSettings(config, await catalogStore.secret('taxii1-jwt-hmac')), () => catalog.access, attemptObserver(config, metrics));
  installTenancy(fastify, catalog, auth, config.http);
  logResponses(fastify);
  if (config.metricsEnabled) installHttpMetrics(fastify, metrics);
  const taxii1Store = new SqlTaxii1Store(ds);
  const scrapeHooks = [poolSampler(ds, metrics, config), outboxSampler(taxii1Store, metrics)];
  installMetricsRoute(fastify, config, () => metricsText(metrics, scrapeHooks), metrics.registry.contentType);

  const sqlStore = new SqlObjectStore(ds);
  const store = config.metricsEnabled ? new MeteredObjectStore(sqlStore, metrics) : sqlStore;
  const meter: SharingMeter = config.metricsEnabled ? new MetricsSharingMeter(metrics) : NO_METER;
  const readiness = createReadiness(ds, catalog);
  const audit = new SqlAuditLog(ds, {
    flushMs: 1000,
    maxBatch: 500,
    onError: (err: unknown, dropped: number) => fastify.log.error({ err, dropped }, 'audit flush failed; will retry'),
  });
  const ingest = new IngestPool({ workers: config.ingestWorkers, inlineBytes: INGEST_INLINE_BYTES });
  const taxii = new TaxiiService({ objects: store, preparer: ingest }, new CursorCodec(cursorKey, config.cursorTtlSeconds), config, { audit, meter });
  const pushWorker = installTaxii1Services(fastify, {
    store: taxii1Store,
    catalog,
    auth,
    config,
    metrics: config.metricsEnabled ? metrics : undefined,
    observers: { audit, meter },
  });
  let metricsServer: Server | undefined;
  let metricsUrl = '';
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.with([
      { provide: CONFIG, useValue: config },
      { provide: CATALOG, useValue: catalog },
      { provide: TAXII_SERVICE, useValue: taxii },
      { provide: READINESS, useValue: readiness },
    ]),
    adapter,
    // Bodies are read by the tenancy hook's parser (TAXII 2.1) or as raw bytes (TAXII 1.x), never by Nest's JSON parser.
    { logger: ['error', 'warn'], bodyParser: false },
  );
  app.useGlobalFilters(new TaxiiExceptionFilter());
  await app.init();

  const purge = schedulePurges(store, audit, config, fastify.log);
  const purge1 = scheduleTaxii1Purges(taxii1Store, fastify.log);
  pushWorker?.start();

  return {
    app,
    dataSource: ds,
    catalog,
    audit,
    metrics,
    taxii1Store,
    pushWorker,
    metricsText: () => metricsText(metrics, scrapeHooks),
    metricsUrl: () => metricsUrl,
    async listen() {
      await app.listen({ port: config.port, host: config.host });
      const warning = transportWarning(config);
      if (warning !== undefined) fastify.log.warn(warning);
      if (config.metricsPort !== 0 && config.metricsEnabled) {
        const started = await startMetricsServer(metrics, scrapeHooks, config.metricsHost, config.metricsPort);
        metricsServer = started.server;
        metricsUrl = `http://${config.metricsHost === '0.0.0.0' ? '127.0.0.1' : config.metricsHost}:${started.port}/metrics`;
      }
      const addr = fastify.server.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : config.port;
      return `${config.tls === undefined ? 'http' : 'https'}://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
    },
    async apply(s: DesiredState, prune = true) {
      await catalogStore.applyDesiredState(s, { prune });
      await catalog.reload();
    },
    async close() {
      // Answer not-ready first, so load balancers stop sending; then close, which drains in-flight requests.
      readiness.draining = true;
      if (config.shutdownDelaySeconds > 0) await new Promise((r) => setTimeout(r, config.shutdownDelaySeconds * 1000));
      clearInterval(purge);
      clearInterval(purge1);
      await pushWorker?.stop();
      await app.close();
      await ingest.close();
      await new Promise<void>((r) => (metricsServer === undefined ? r() : metricsServer.close(() => r())));
      await audit.close();
      await catalog.close();
      await ds.destroy();
      await embedded?.stop();
    },
  };
}

/** Connects to PostgreSQL at config.databaseUrl, or starts embedded PGlite (in memory or under config.dataDir), and migrates it. */
async function openDatabase(config: Config): Promise<Database> {
  let embedded: EmbeddedDatabase | undefined;
  let databaseUrl = config.databaseUrl;
  if (databaseUrl === undefined) {
    embedded = await startEmbeddedDatabase(config.dataDir === ':memory:' ? undefined : config.dataDir);
    databaseUrl = embedded.url;
  }
  const ds = createDataSource(databaseUrl, embedded === undefined ? config.dbPoolSize : 1, {
    connectMs: config.database.connectTimeoutMs,
    statementMs: config.database.statementTimeoutMs,
  });
  await ds.initialize();
  await migrate(ds);
  return { ds, url: databaseUrl, embedded };
}

/** The desired state of config.configFile, if one is configured. */
function initialState(config: Config): DesiredState | undefined {
  return config.configFile !== undefined ? loadDesiredStateFile(config.configFile) : undefined;
}

/** The `next` token HMAC key: CURSOR_SECRET, else the one generated once and kept in the database. */
async function cursorKeyOf(config: Config, catalogStore: SqlCatalogStore): Promise<Buffer> {
  return config.cursorSecret !== undefined ? Buffer.from(config.cursorSecret, 'utf8') : await catalogStore.secret('cursor-hmac');
}

function createAdapter(config: Config, opts: ServerOptions): FastifyAdapter {
  return new FastifyAdapter({
    ...(config.tls !== undefined && { https: httpsOptions(config.tls) }),
    logger: loggerOptions(opts.logger ?? { level: config.logLevel }),
    genReqId: () => randomUUID(),
    logController: new LogController({ disableRequestLogging: true }),
    // STIX ids are at most ~290 characters (a type of up to 250, "--", a UUID): every storable id is addressable.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 512 },
    frameworkErrors: (err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
      const status = typeof err.statusCode === 'number' && err.statusCode >= 400 ? err.statusCode : 400;
      sendTaxii(reply, status, frameworkErrorJson(status, err.message, String(req.id)));
    },
    clientErrorHandler: answerClientError,
    // The real limit is each API root's max_content_length, enforced while streaming (http/body.ts).
    bodyLimit: Number.MAX_SAFE_INTEGER,
    // Time bounds of a request (HTTP_*_TIMEOUT_SECONDS); the body's minimum rate is enforced while it streams.
    requestTimeout: config.http.requestTimeoutMs,
    connectionTimeout: config.http.idleTimeoutMs,
  });
}

/**
 * Said at start when credentials could travel in clear text: TLS does not end here, no proxy is
 * trusted to have ended it, and the server listens beyond loopback.
 */
export function transportWarning(config: Config): string | undefined {
  const loopback = ['127.0.0.1', '::1', 'localhost'].includes(config.host);
  if (config.tls !== undefined || config.trustedProxies.length > 0 || loopback) return undefined;
  return `TLS does not end at this server and TRUSTED_PROXIES is empty: unless a TLS-terminating proxy is in front of ${config.host}:${config.port}, Basic passwords and API keys travel in clear text (set TLS_CERT_FILE/TLS_KEY_FILE, or TRUSTED_PROXIES for the ingress)`;
}

/**
 * A request Node's HTTP parser refused (malformed, headers over the size bound: 431, headers too
 * slow: 408), answered as a TAXII error resource on the raw socket, which then closes.
 */
function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const reason = status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request';
  const description =
    status === 431
      ? 'The request headers are larger than this server accepts'
      : status === 408
        ? 'The request did not arrive in time'
        : 'The request is not valid HTTP';
  const body = frameworkErrorJson(status, description, randomUUID());
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: ${TAXII_MEDIA_TYPE}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/**
 * pino with the bounds of http/log-bounds.ts: errors are logged without statements or parameters,
 * and no line is longer than MAX_LOG_LINE.
 */
function loggerOptions(logger: NonNullable<ServerOptions['logger']>): boolean | Record<string, unknown> {
  if (logger === false) return false;
  const base = logger === true ? {} : logger;
  return { ...base, serializers: { err: errSerializer }, hooks: { streamWrite: boundLine } };
}

/**
 * HTTPS where TLS ends at the server. With a client CA, every client is asked for a certificate but
 * one without is still let in (rejectUnauthorized: false), to authenticate with Basic or a key; the
 * tenancy hook trusts a certificate only if it verified against that CA.
 */
function httpsOptions(tls: TlsConfig): { key: Buffer; cert: Buffer; ca?: Buffer; requestCert: boolean; rejectUnauthorized: boolean } {
  return {
    key: readFileSync(tls.keyFile),
    cert: readFileSync(tls.certFile),
    ...(tls.clientCaFile !== undefined && { ca: readFileSync(tls.clientCaFile) }),
    requestCert: tls.clientCaFile !== undefined,
    rejectUnauthorized: false,
  };
}

const TAXII_MEDIA_TYPE = 'application/taxii+json;version=2.1';

/** With METRICS_ENABLED=false: counts nothing. */
const NO_METER: SharingMeter = { ingested: () => undefined, served: () => undefined };

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
function poolSampler(ds: DataSource, m: ApiMetrics, config: Config): ScrapeHook {
  return () => {
    m.dbPoolMax.set(config.databaseUrl === undefined ? 1 : config.dbPoolSize);
    const pool = poolStats(ds);
    if (pool === undefined) return;
    m.dbPool.set({ state: 'in_use' }, pool.inUse);
    m.dbPool.set({ state: 'idle' }, pool.idle);
    m.dbPool.set({ state: 'waiting' }, pool.waiting);
  };
}

/** One access-log line per response (Fastify's own request logging is off). */
function logResponses(fastify: FastifyInstance): void {
  fastify.addHook('onResponse', async (req, reply) => {
    req.log.info(
      {
        req_id: req.id,
        method: req.method,
        route: req.routeOptions.url,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
        principal: req.taxii?.principal.name,
        api_root: req.taxii?.root?.path,
        collection: req.taxii?.collection?.name,
        objects: req.taxiiObjects,
      },
      'request',
    );
  });
}

/** Readiness: database reachable, migrations at head, catalogue loaded, not draining. */
function createReadiness(ds: DataSource, catalog: CatalogService): Readiness {
  const readiness: Readiness = {
    draining: false,
    async check() {
      let db = true;
      let migrations = false;
      try {
        migrations = await migrationsAtHead(ds);
      } catch {
        db = false;
      }
      return { database: db, migrations, catalog: catalog.loaded, accepting: !readiness.draining };
    },
  };
  return readiness;
}

/**
 * Hourly purge of status resources older than config.statusRetentionHours and audit entries older
 * than config.auditRetentionDays; the timer does not keep the process alive.
 */
function schedulePurges(store: ObjectStore, audit: SqlAuditLog, config: Config, log: FastifyBaseLogger): NodeJS.Timeout {
  const purge = setInterval(() => {
    store.purgeStatuses(nowUs() - config.statusRetentionHours * HOUR_MS * 1000).catch((err: unknown) => log.error({ err }, 'status purge failed'));
    audit.purge(new Date(Date.now() - config.auditRetentionDays * 24 * HOUR_MS)).catch((err: unknown) => log.error({ err }, 'audit purge failed'));
  }, HOUR_MS);
  purge.unref();
  return purge;
}

/**
 * The TAXII 1.x services (unless TAXII1_ENABLED=false) and their push worker (unless
 * TAXII1_PUSH_ENABLED=false), which is returned to be started and stopped with the server.
 */
function installTaxii1Services(
  fastify: FastifyInstance,
  d: {
    store: Taxii1Store;
    catalog: CatalogService;
    auth: Authenticator;
    config: Config;
    metrics: ApiMetrics | undefined;
    observers: { audit: SqlAuditLog; meter: SharingMeter };
  },
): PushWorker | undefined {
  if (!d.config.taxii1.enabled) return undefined;
  const pushWorker = d.config.taxii1.pushEnabled
    ? new PushWorker({ store: d.store, catalog: d.catalog, config: d.config.taxii1, log: fastify.log, metrics: d.metrics })
    : undefined;
  const service = new Taxii1Service(d.store, d.catalog, d.config, { ...d.observers, nudgePush: () => pushWorker?.nudge() });
  installTaxii1(fastify, { service, store: d.store, catalog: d.catalog, auth: d.auth, config: d.config, metrics: d.metrics });
  return pushWorker;
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

/** Hourly: expired multi-part result sets, and outbox entries finished more than a week ago. */
function scheduleTaxii1Purges(store: Taxii1Store, log: FastifyBaseLogger): NodeJS.Timeout {
  const purge = setInterval(() => {
    store.purgeResultSets().catch((err: unknown) => log.error({ err }, 'result set purge failed'));
    store.purgeOutbox(new Date(Date.now() - 7 * 24 * HOUR_MS)).catch((err: unknown) => log.error({ err }, 'outbox purge failed'));
  }, HOUR_MS);
  purge.unref();
  return purge;
}

/** Counts authentication attempts and slow hashes (unless METRICS_ENABLED=false). */
function attemptObserver(config: Config, metrics: ApiMetrics): ((method: string, result: string, hashed: boolean) => void) | undefined {
  if (!config.metricsEnabled) return undefined;
  return (method, result, hashed) => {
    metrics.authAttempts.inc({ method, result });
    if (hashed) metrics.authHashes.inc();
  };
}

/** A credential that verified stays exempt from the failure throttle this long (on this replica). */
const TRUSTED_CREDENTIAL_SECONDS = 86_400;

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
