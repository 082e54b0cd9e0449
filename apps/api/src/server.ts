import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { LogController, type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Config, TlsConfig } from '@taxiway/config';
import type { DesiredState, Taxii1Store } from '@taxiway/domain';
import type { ApiMetrics } from '@taxiway/metrics';
import type { Database, SqlAuditLog, SqlCatalogStore } from '@taxiway/store';
import { AppModule } from './app.module';
import type { CatalogService } from './catalog/catalog.service';
import type { Readiness } from './health/health.controller';
import { boundLine, errSerializer } from './http/log-bounds';
import { sendTaxii } from './http/media';
import { RouteTable } from './http/routes';
import { frameworkErrorJson, TaxiiExceptionFilter } from './http/taxii-exception.filter';
import { MetricsEndpoint } from './metrics/metrics.module';
import type { PushWorker } from './taxii1/push-worker';
import { StartupResources } from './lifecycle';
import { API_METRICS, AUDIT_LOG, CATALOG, CATALOG_STORE, DATABASE, PUSH_WORKER, READINESS, TAXII1_STORE } from './tokens';

export interface TaxiwayServer {
  readonly app: NestFastifyApplication;
  /** The database handle (tests reach the pool through it for set-up and fault injection). */
  readonly database: Database;
  readonly catalog: CatalogService;
  /** The batched audit log (flush() to make buffered entries visible). */
  readonly audit: SqlAuditLog;
  readonly metrics: ApiMetrics;
  /** TAXII 1.x storage (subscriptions, outbox) and the push worker (undefined with TAXII1_PUSH_ENABLED=false). */
  readonly taxii1Store: Taxii1Store;
  readonly pushWorker: PushWorker | undefined;
  /** The /metrics exposition as a scrape would get it. */
  metricsText(): Promise<string>;
  /** Where /metrics is served: the METRICS_PORT listener's URL once listening ('' when there is none). */
  readonly metricsUrl: () => string;
  /** Listens on config.host:config.port (0 = any free port) and returns the base URL. */
  listen(): Promise<string>;
  /** Applies desired state through the same path as the config file, then reloads the catalogue. */
  apply(state: DesiredState, prune?: boolean): Promise<void>;
  /** Nest's shutdown: not ready, workers stopped, requests drained, then everything closed in order. */
  close(): Promise<void>;
}

export interface ServerOptions {
  /** Desired state applied at start instead of reading config.configFile. */
  readonly state?: DesiredState;
  /** Fastify/pino logger options (level, stream); false silences logs. */
  readonly logger?: boolean | { readonly level: string; readonly stream?: { write(line: string): void } };
}

/**
 * Builds the server: Fastify (with the bounds of config.http) under NestJS, whose capability
 * modules (app.module.ts) open the database, apply the configuration, load the catalogue and
 * install the access pipeline, TAXII 2.1 and TAXII 1.x. Returned initialized, not yet listening.
 */
export async function createTaxiwayServer(config: Config, opts: ServerOptions = {}): Promise<TaxiwayServer> {
  const adapter = createAdapter(config, opts);
  const fastify = adapter.getInstance();
  fastify.server.headersTimeout = config.http.headersTimeoutMs;
  const routes = new RouteTable();
  routes.record(fastify);
  const startup = new StartupResources();
  let app: NestFastifyApplication;
  try {
    app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, opts, startup), adapter, {
      // Bodies are read by the tenancy hook's parser (TAXII 2.1) or as raw bytes (TAXII 1.x), never by Nest's JSON parser.
      bodyParser: false,
      logger: ['error', 'warn'],
      // A provider that fails (database unreachable, bad configuration) rejects here, for main() to report; Nest would abort the process.
      abortOnError: false,
    });
  } catch (e: unknown) {
    // No application exists, so no module can close what the factories before the failing one opened.
    await startup.closeAll();
    throw e;
  }
  app.useGlobalFilters(new TaxiiExceptionFilter(routes));
  try {
    await app.init();
  } catch (e: unknown) {
    await app.close().catch(() => undefined);
    throw e;
  }

  const catalog = app.get<CatalogService>(CATALOG);
  const endpoint = app.get(MetricsEndpoint);
  const readiness = app.get<Readiness>(READINESS);
  return {
    app,
    database: app.get<Database>(DATABASE),
    catalog,
    audit: app.get<SqlAuditLog>(AUDIT_LOG),
    metrics: app.get<ApiMetrics>(API_METRICS),
    taxii1Store: app.get<Taxii1Store>(TAXII1_STORE),
    pushWorker: app.get<PushWorker | null>(PUSH_WORKER) ?? undefined,
    metricsText: () => endpoint.text(),
    metricsUrl: () => endpoint.url,
    async listen() {
      await app.listen({ port: config.port, host: config.host });
      readiness.serving = true;
      const warning = transportWarning(config);
      if (warning !== undefined) fastify.log.warn(warning);
      await endpoint.start();
      const addr = fastify.server.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : config.port;
      return `${config.tls === undefined ? 'http' : 'https'}://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
    },
    async apply(s: DesiredState, prune = true) {
      await app.get<SqlCatalogStore>(CATALOG_STORE).applyDesiredState(s, { prune });
      await catalog.reload();
    },
    close: () => app.close(),
  };
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
