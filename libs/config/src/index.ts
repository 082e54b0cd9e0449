/**
 * The environment, parsed once at boot into a typed, frozen Config. Every setting has a default that
 * works on a laptop; a malformed value stops the process with a message naming the variable.
 */
export interface Config {
  readonly host: string;
  readonly port: number;
  /** Absolute base URL clients reach us at (behind an ingress: its URL); discovery lists roots under it. */
  readonly publicBaseUrl: string;
  /** PostgreSQL URL; undefined = the embedded PGlite default. */
  readonly databaseUrl: string | undefined;
  /** PGlite data directory (embedded default only). */
  readonly dataDir: string;
  /** YAML file of ApiRoot/Collection/Principal documents applied at start. */
  readonly configFile: string | undefined;
  readonly dbPoolSize: number;
  readonly defaultPageSize: number;
  readonly maxPageSize: number;
  readonly cursorTtlSeconds: number;
  /** Optional shared secret for `next` tokens; without it one is generated and kept in the database. */
  readonly cursorSecret: string | undefined;
  readonly statusRetentionHours: number;
  readonly authCacheSeconds: number;
  readonly logLevel: string;
  readonly serverTitle: string;
  readonly serverDescription: string | undefined;
  readonly serverContact: string | undefined;
}

export class ConfigError extends Error {}

type Env = Readonly<Record<string, string | undefined>>;

function int(env: Env, name: string, dflt: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be an integer, got ${JSON.stringify(raw)}`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

function str(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

function argValue(argv: readonly string[], flag: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === flag) return argv[i + 1];
    if (a.startsWith(flag + '=')) return a.slice(flag.length + 1);
  }
  return undefined;
}

export function loadConfig(env: Env = process.env, argv: readonly string[] = process.argv.slice(2)): Config {
  const port = int(env, 'PORT', 8080, 0, 65535);
  const base = (str(env, 'PUBLIC_BASE_URL') ?? `http://localhost:${port}`).replace(/\/+$/, '');
  let parsed: URL;
  try {
    parsed = new URL(base);
  } catch {
    throw new ConfigError(`PUBLIC_BASE_URL must be an absolute URL, got ${JSON.stringify(base)}`);
  }
  if (parsed.search !== '' || parsed.hash !== '') throw new ConfigError('PUBLIC_BASE_URL must not have a query or fragment');
  const maxPageSize = int(env, 'MAX_PAGE_SIZE', 10000, 1, 1_000_000);
  const defaultPageSize = int(env, 'DEFAULT_PAGE_SIZE', Math.min(1000, maxPageSize), 1, maxPageSize);
  const cursorSecret = str(env, 'CURSOR_SECRET');
  if (cursorSecret !== undefined && cursorSecret.length < 16) throw new ConfigError('CURSOR_SECRET must be at least 16 characters');
  return Object.freeze({
    host: str(env, 'HOST') ?? '0.0.0.0',
    port,
    publicBaseUrl: base,
    databaseUrl: str(env, 'DATABASE_URL'),
    dataDir: str(env, 'TAXIWAY_DATA_DIR') ?? './data/pglite',
    configFile: argValue(argv, '--config') ?? str(env, 'TAXIWAY_CONFIG'),
    dbPoolSize: int(env, 'DB_POOL_SIZE', 10, 1, 1000),
    defaultPageSize,
    maxPageSize,
    cursorTtlSeconds: int(env, 'CURSOR_TTL_SECONDS', 86400, 60),
    cursorSecret,
    statusRetentionHours: int(env, 'STATUS_RETENTION_HOURS', 48, 24),
    authCacheSeconds: int(env, 'AUTH_CACHE_SECONDS', 60, 0, 3600),
    logLevel: str(env, 'LOG_LEVEL') ?? 'info',
    serverTitle: str(env, 'SERVER_TITLE') ?? 'Taxiway',
    serverDescription: str(env, 'SERVER_DESCRIPTION') ?? 'Multi-tenant TAXII 2.1 server',
    serverContact: str(env, 'SERVER_CONTACT'),
  });
}
