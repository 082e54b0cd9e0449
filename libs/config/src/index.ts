import { isIP } from 'node:net';

/**
 * The environment, parsed once at boot into a typed, frozen Config. Every setting has a default that
 * works on a laptop; a malformed value stops the process with a message naming the variable.
 */
export interface Config {
  readonly host: string;
  readonly port: number;
  /** Serve HTTPS with this certificate chain and key (PEM files); unset = plain HTTP (TLS ends at the ingress). */
  readonly tls: TlsConfig | undefined;
  /** Absolute base URL clients reach us at (behind an ingress: its URL); discovery lists roots under it. */
  readonly publicBaseUrl: string;
  /** PostgreSQL URL; undefined = the embedded PGlite default. */
  readonly databaseUrl: string | undefined;
  /** PGlite data directory (embedded default only). */
  readonly dataDir: string;
  /** YAML file of ApiRoot/Collection/Principal documents applied at start. */
  readonly configFile: string | undefined;
  readonly dbPoolSize: number;
  /** How long to wait for the database before answering 503 (DB_CONNECT_TIMEOUT_SECONDS, DB_STATEMENT_TIMEOUT_SECONDS). */
  readonly database: { readonly connectTimeoutMs: number; readonly statementTimeoutMs: number };
  readonly defaultPageSize: number;
  readonly maxPageSize: number;
  /** Objects one Add Objects envelope may hold; more is refused (413) before any is validated. */
  readonly maxObjectsPerEnvelope: number;
  /** Worker threads that parse and validate Add Objects envelopes off the event loop (0: on it). */
  readonly ingestWorkers: number;
  readonly cursorTtlSeconds: number;
  /** Optional shared secret for `next` tokens; without it one is generated and kept in the database. */
  readonly cursorSecret: string | undefined;
  readonly statusRetentionHours: number;
  /** Record reads (objects, manifest, versions) in the audit log; writes are always recorded. */
  readonly auditReads: boolean;
  /** Audit entries older than this are purged (hourly). */
  readonly auditRetentionDays: number;
  readonly authCacheSeconds: number;
  /** Default per-principal request rate (requests/s, per replica); 0 = unlimited. Principals may override it. */
  readonly rateLimitPerSecond: number;
  /** Default burst of that rate (requests). */
  readonly rateLimitBurst: number;
  /** Failed authentications allowed per minute from one client address (any usernames), per replica. */
  readonly authFailuresPerMinutePerAddress: number;
  /** Failed authentications allowed per minute for one username (or key id) from one client address, per replica. */
  readonly authFailuresPerMinutePerUser: number;
  /** Slow-hash (argon2) verifications per second, per replica; attempts past it get 429 before hashing. */
  readonly authHashesPerSecond: number;
  /** Peers (addresses and CIDRs) whose X-Forwarded-For / Forwarded headers name the client; empty = none. */
  readonly trustedProxies: readonly string[];
  readonly logLevel: string;
  /** Count metrics at all (false = no /metrics, for measuring their cost). */
  readonly metricsEnabled: boolean;
  /** Serve /metrics on its own listener at this port (0 = no own listener). */
  readonly metricsPort: number;
  /** Address the metrics listener binds (default: HOST). */
  readonly metricsHost: string;
  /** If set, /metrics is also served on the TAXII port, to `Authorization: Bearer <token>` only. */
  readonly metricsToken: string | undefined;
  /** Label sharing-volume metrics per collection / per principal (false = aggregated per API root). */
  readonly metricsPerCollection: boolean;
  readonly metricsPerPrincipal: boolean;
  /** On SIGTERM, answer not-ready for this long before closing (lets load balancers drain). */
  readonly shutdownDelaySeconds: number;
  readonly serverTitle: string;
  readonly serverDescription: string | undefined;
  readonly serverContact: string | undefined;
  /** TAXII 1.x services (settings in Taxii1Config). */
  readonly taxii1: Taxii1Config;
  /** Time and rate bounds of every HTTP request. */
  readonly http: HttpLimits;
}

/** What a connection may cost in time: every bound ends the request with an answer, never a hang. */
export interface HttpLimits {
  /** All request headers must have arrived within this. */
  readonly headersTimeoutMs: number;
  /** The whole request (headers and body) must have arrived within this. */
  readonly requestTimeoutMs: number;
  /** A connection with no traffic at all for this long is closed. */
  readonly idleTimeoutMs: number;
  /** A body arriving slower than this (bytes/s, averaged) once `bodyGraceMs` have passed is cut off (408); 0 = no minimum. */
  readonly bodyMinBytesPerSecond: number;
  readonly bodyGraceMs: number;
  /** Past a root's max_content_length, this many more bytes are read and discarded before the 413. */
  readonly bodyDiscardBytes: number;
}

export interface TlsConfig {
  readonly certFile: string;
  readonly keyFile: string;
  /**
   * CA bundle that signs client certificates. Set, the server asks every client for a certificate
   * and authenticates one that verifies as the principal named by its subject CN (as Kubernetes
   * does); clients without a certificate still authenticate with Basic or API keys.
   */
  readonly clientCaFile: string | undefined;
}

export interface Taxii1Config {
  /** Serve the TAXII 1.0/1.1 services under /taxii1/{api-root}/. */
  readonly enabled: boolean;
  /** Content blocks per Poll_Response part (1.1 multi-part polling). */
  readonly partSize: number;
  /** How long a multi-part result set can be fulfilled. */
  readonly resultTtlSeconds: number;
  /** Bounds of an accepted XML message (the size bound is the API root's max_content_length). */
  readonly maxDepth: number;
  readonly maxElements: number;
  /** Content blocks one Inbox message may hold; more is refused (BAD_MESSAGE) before any is stored. */
  readonly maxBlocksPerMessage: number;
  /** Lifetime of tokens from the JWT login endpoint. */
  readonly jwtTtlSeconds: number;
  /** Push delivery to subscribers' inboxes. */
  readonly pushEnabled: boolean;
  /** First retry delay; doubled per failed attempt up to pushRetryMaxMs. */
  readonly pushRetryBaseMs: number;
  readonly pushRetryMaxMs: number;
  /** A delivery still failing this long after it was queued is given up, with the reason recorded. */
  readonly pushGiveUpSeconds: number;
  readonly pushTimeoutMs: number;
  /** Content blocks per pushed Inbox_Message. */
  readonly pushMaxBlocks: number;
  /** How often the outbox is scanned for due deliveries. */
  readonly pushIntervalMs: number;
  /** Host names (or `.suffix`es) push addresses may name; empty = any. A host named here may resolve to internal addresses. */
  readonly pushAllowedHosts: readonly string[];
  /** Push to loopback, private and link-local addresses too (default: public addresses only). */
  readonly pushAllowPrivate: boolean;
}

export class ConfigError extends Error {}

type Env = Readonly<Record<string, string | undefined>>;

/** An integer setting: the value used when the variable is unset or empty, and the inclusive range it must lie in. */
interface IntSetting {
  readonly dflt: number;
  readonly min: number;
  readonly max?: number;
}

function int(env: Env, name: string, { dflt, min, max = Number.MAX_SAFE_INTEGER }: IntSetting): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be an integer, got ${JSON.stringify(raw)}`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** A boolean setting: true/false (also 1/0, yes/no, on/off); `dflt` when unset or empty. */
function bool(env: Env, name: string, dflt: boolean): boolean {
  const raw = env[name]?.toLowerCase();
  if (raw === undefined || raw === '') return dflt;
  if (['true', '1', 'yes', 'on'].includes(raw)) return true;
  if (['false', '0', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got ${JSON.stringify(env[name])}`);
}

function str(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

/** A text setting, `dflt` when the variable is unset or empty. */
function strOr(env: Env, name: string, dflt: string): string {
  return str(env, name) ?? dflt;
}

function argValue(argv: readonly string[], flag: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === flag) return argv[i + 1];
    if (a.startsWith(flag + '=')) return a.slice(flag.length + 1);
  }
  return undefined;
}

/**
 * PUBLIC_BASE_URL without trailing slashes (default: localhost on `port`, https when TLS ends at the
 * server); must be absolute, without query or fragment.
 */
function parsePublicBaseUrl(env: Env, port: number, tls: boolean): string {
  const base = strOr(env, 'PUBLIC_BASE_URL', `${tls ? 'https' : 'http'}://localhost:${port}`).replace(/\/+$/, '');
  let parsed: URL;
  try {
    parsed = new URL(base);
  } catch {
    throw new ConfigError(`PUBLIC_BASE_URL must be an absolute URL, got ${JSON.stringify(base)}`);
  }
  if (parsed.search !== '' || parsed.hash !== '') throw new ConfigError('PUBLIC_BASE_URL must not have a query or fragment');
  return base;
}

function tlsConfig(env: Env): TlsConfig | undefined {
  const certFile = str(env, 'TLS_CERT_FILE');
  const keyFile = str(env, 'TLS_KEY_FILE');
  const clientCaFile = str(env, 'TLS_CLIENT_CA_FILE');
  if ((certFile === undefined) !== (keyFile === undefined)) throw new ConfigError('TLS_CERT_FILE and TLS_KEY_FILE must be set together');
  if (certFile === undefined || keyFile === undefined) {
    if (clientCaFile !== undefined)
      throw new ConfigError('TLS_CLIENT_CA_FILE needs TLS_CERT_FILE and TLS_KEY_FILE: client certificates are checked where TLS ends');
    return undefined;
  }
  return Object.freeze({ certFile, keyFile, clientCaFile });
}

function taxii1Config(env: Env): Taxii1Config {
  const retryBase = int(env, 'TAXII1_PUSH_RETRY_BASE_MS', { dflt: 2000, min: 10, max: 3_600_000 });
  return {
    enabled: bool(env, 'TAXII1_ENABLED', true),
    partSize: int(env, 'TAXII1_PART_SIZE', { dflt: 1000, min: 1, max: 100_000 }),
    resultTtlSeconds: int(env, 'TAXII1_RESULT_TTL_SECONDS', { dflt: 86400, min: 60 }),
    maxDepth: int(env, 'TAXII1_MAX_DEPTH', { dflt: 100, min: 8, max: 10_000 }),
    maxElements: int(env, 'TAXII1_MAX_ELEMENTS', { dflt: 250_000, min: 100, max: 100_000_000 }),
    maxBlocksPerMessage: int(env, 'TAXII1_MAX_BLOCKS_PER_MESSAGE', { dflt: 50_000, min: 1, max: 10_000_000 }),
    jwtTtlSeconds: int(env, 'TAXII1_JWT_TTL_SECONDS', { dflt: 3600, min: 60, max: 30 * 86400 }),
    pushEnabled: bool(env, 'TAXII1_PUSH_ENABLED', true),
    pushRetryBaseMs: retryBase,
    pushRetryMaxMs: int(env, 'TAXII1_PUSH_RETRY_MAX_MS', { dflt: 600_000, min: retryBase, max: 86_400_000 }),
    pushGiveUpSeconds: int(env, 'TAXII1_PUSH_GIVE_UP_SECONDS', { dflt: 86400, min: 1 }),
    pushTimeoutMs: int(env, 'TAXII1_PUSH_TIMEOUT_MS', { dflt: 30_000, min: 100, max: 600_000 }),
    pushMaxBlocks: int(env, 'TAXII1_PUSH_MAX_BLOCKS', { dflt: 500, min: 1, max: 100_000 }),
    pushIntervalMs: int(env, 'TAXII1_PUSH_INTERVAL_MS', { dflt: 1000, min: 10, max: 600_000 }),
    pushAllowPrivate: bool(env, 'TAXII1_PUSH_ALLOW_PRIVATE', false),
    pushAllowedHosts: (str(env, 'TAXII1_PUSH_ALLOWED_HOSTS') ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter((h) => h !== ''),
  };
}

/** TRUSTED_PROXIES: comma-separated addresses and CIDRs (v4 or v6). */
function trustedProxies(env: Env): readonly string[] {
  const entries = (str(env, 'TRUSTED_PROXIES') ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  for (const e of entries) {
    const [addr = '', bits, extra] = e.split('/');
    const family = isIP(addr);
    const max = family === 4 ? 32 : 128;
    const badBits = bits !== undefined && (!/^\d+$/.test(bits) || Number(bits) > max);
    if (family === 0 || badBits || extra !== undefined) throw new ConfigError(`TRUSTED_PROXIES: ${JSON.stringify(e)} is not an IP address or CIDR`);
  }
  return Object.freeze(entries);
}

function parseMetricsToken(env: Env): string | undefined {
  const token = str(env, 'METRICS_TOKEN');
  if (token !== undefined && token.length < 16) throw new ConfigError('METRICS_TOKEN must be at least 16 characters');
  return token;
}

function httpLimits(env: Env): HttpLimits {
  const seconds = (name: string, dflt: number, max: number): number => int(env, name, { dflt, min: 1, max }) * 1000;
  return Object.freeze({
    headersTimeoutMs: seconds('HTTP_HEADERS_TIMEOUT_SECONDS', 20, 600),
    requestTimeoutMs: seconds('HTTP_REQUEST_TIMEOUT_SECONDS', 600, 86_400),
    idleTimeoutMs: seconds('HTTP_IDLE_TIMEOUT_SECONDS', 60, 86_400),
    bodyMinBytesPerSecond: int(env, 'BODY_MIN_BYTES_PER_SECOND', { dflt: 65_536, min: 0, max: 1_000_000_000 }),
    bodyGraceMs: seconds('BODY_GRACE_SECONDS', 10, 3600),
    bodyDiscardBytes: int(env, 'BODY_DISCARD_BYTES', { dflt: 8 * 1024 * 1024, min: 0, max: 1024 * 1024 * 1024 }),
  });
}

function parseCursorSecret(env: Env): string | undefined {
  const secret = str(env, 'CURSOR_SECRET');
  if (secret !== undefined && secret.length < 16) throw new ConfigError('CURSOR_SECRET must be at least 16 characters');
  return secret;
}

/** The config file: `--config <path>` (or `--config=<path>`) on the command line, else TAXIWAY_CONFIG. */
function configFilePath(env: Env, argv: readonly string[]): string | undefined {
  return argValue(argv, '--config') ?? str(env, 'TAXIWAY_CONFIG');
}

export function loadConfig(env: Env = process.env, argv: readonly string[] = process.argv.slice(2)): Config {
  const port = int(env, 'PORT', { dflt: 8080, min: 0, max: 65535 });
  const tls = tlsConfig(env);
  const base = parsePublicBaseUrl(env, port, tls !== undefined);
  const maxPageSize = int(env, 'MAX_PAGE_SIZE', { dflt: 10000, min: 1, max: 1_000_000 });
  const defaultPageSize = int(env, 'DEFAULT_PAGE_SIZE', { dflt: Math.min(1000, maxPageSize), min: 1, max: maxPageSize });
  const cursorSecret = parseCursorSecret(env);
  return Object.freeze({
    host: strOr(env, 'HOST', '0.0.0.0'),
    port,
    publicBaseUrl: base,
    tls,
    databaseUrl: str(env, 'DATABASE_URL'),
    dataDir: strOr(env, 'TAXIWAY_DATA_DIR', './data/pglite'),
    configFile: configFilePath(env, argv),
    dbPoolSize: int(env, 'DB_POOL_SIZE', { dflt: 10, min: 1, max: 1000 }),
    database: Object.freeze({
      connectTimeoutMs: int(env, 'DB_CONNECT_TIMEOUT_SECONDS', { dflt: 5, min: 1, max: 600 }) * 1000,
      statementTimeoutMs: int(env, 'DB_STATEMENT_TIMEOUT_SECONDS', { dflt: 60, min: 1, max: 86_400 }) * 1000,
    }),
    defaultPageSize,
    maxPageSize,
    maxObjectsPerEnvelope: int(env, 'MAX_OBJECTS_PER_ENVELOPE', { dflt: 100_000, min: 1, max: 10_000_000 }),
    ingestWorkers: int(env, 'INGEST_WORKERS', { dflt: 2, min: 0, max: 64 }),
    cursorTtlSeconds: int(env, 'CURSOR_TTL_SECONDS', { dflt: 86400, min: 60 }),
    cursorSecret,
    statusRetentionHours: int(env, 'STATUS_RETENTION_HOURS', { dflt: 48, min: 24 }),
    auditReads: bool(env, 'AUDIT_READS', true),
    auditRetentionDays: int(env, 'AUDIT_RETENTION_DAYS', { dflt: 365, min: 1, max: 36_500 }),
    authCacheSeconds: int(env, 'AUTH_CACHE_SECONDS', { dflt: 60, min: 0, max: 3600 }),
    rateLimitPerSecond: int(env, 'RATE_LIMIT_PER_SECOND', { dflt: 0, min: 0, max: 1_000_000 }),
    rateLimitBurst: int(env, 'RATE_LIMIT_BURST', { dflt: 0, min: 0, max: 10_000_000 }),
    authFailuresPerMinutePerAddress: int(env, 'AUTH_FAILURES_PER_MINUTE_PER_ADDRESS', { dflt: 30, min: 1, max: 1_000_000 }),
    authFailuresPerMinutePerUser: int(env, 'AUTH_FAILURES_PER_MINUTE_PER_USER', { dflt: 10, min: 1, max: 1_000_000 }),
    authHashesPerSecond: int(env, 'AUTH_HASHES_PER_SECOND', { dflt: 20, min: 1, max: 100_000 }),
    trustedProxies: trustedProxies(env),
    logLevel: strOr(env, 'LOG_LEVEL', 'info'),
    metricsEnabled: bool(env, 'METRICS_ENABLED', true),
    metricsPort: int(env, 'METRICS_PORT', { dflt: 9464, min: 0, max: 65535 }),
    metricsHost: strOr(env, 'METRICS_HOST', strOr(env, 'HOST', '0.0.0.0')),
    metricsToken: parseMetricsToken(env),
    metricsPerCollection: bool(env, 'METRICS_PER_COLLECTION', true),
    metricsPerPrincipal: bool(env, 'METRICS_PER_PRINCIPAL', true),
    shutdownDelaySeconds: int(env, 'SHUTDOWN_DELAY_SECONDS', { dflt: 0, min: 0, max: 300 }),
    serverTitle: strOr(env, 'SERVER_TITLE', 'Taxiway'),
    serverDescription: strOr(env, 'SERVER_DESCRIPTION', 'Multi-tenant TAXII 2.1 server'),
    serverContact: str(env, 'SERVER_CONTACT'),
    taxii1: Object.freeze(taxii1Config(env)),
    http: httpLimits(env),
  });
}
