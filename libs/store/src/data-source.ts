import { types } from 'pg';
import { DataSource } from 'typeorm';
import { MigrationExecutor } from 'typeorm/migration/MigrationExecutor';
import { Init1732400000000 } from './migrations/1732400000000-init';
import { LatestFlag1732500000000 } from './migrations/1732500000000-latest-flag';
import { ApiKeys1732600000000 } from './migrations/1732600000000-api-keys';
import { RateLimits1732700000000 } from './migrations/1732700000000-rate-limits';
import { Groups1732800000000 } from './migrations/1732800000000-groups';
import { CollectionQuota1732900000000 } from './migrations/1732900000000-collection-quota';
import { Audit1733000000000 } from './migrations/1733000000000-audit';
import { ConfigApiKeys1733100000000 } from './migrations/1733100000000-config-api-keys';
import { Taxii11733200000000 } from './migrations/1733200000000-taxii1';
import { Feeds1733300000000 } from './migrations/1733300000000-feeds';

// int8 → number. Every bigint we store (µs timestamps, sequences, sizes) is below 2^53.
types.setTypeParser(20, (v: string) => Number(v));

export const MIGRATIONS = [
  Init1732400000000,
  LatestFlag1732500000000,
  ApiKeys1732600000000,
  RateLimits1732700000000,
  Groups1732800000000,
  CollectionQuota1732900000000,
  Audit1733000000000,
  ConfigApiKeys1733100000000,
  Taxii11733200000000,
  Feeds1733300000000,
];

/** Key of the session advisory lock that serializes migrations across replicas and the Helm Job. */
const MIGRATION_LOCK = 0x7a78_0001;

/** How long the server waits for the database before answering 503 (never a hang). */
export interface DatabaseTimeouts {
  /** A new connection must be established within this. */
  readonly connectMs: number;
  /** A statement must answer within this: enforced by PostgreSQL (statement_timeout) and, for a server that stopped answering at all, by the client (2 s later). */
  readonly statementMs: number;
}

export const DEFAULT_DATABASE_TIMEOUTS: DatabaseTimeouts = { connectMs: 5000, statementMs: 60_000 };

export function createDataSource(url: string, poolSize: number, timeouts: DatabaseTimeouts = DEFAULT_DATABASE_TIMEOUTS): DataSource {
  return new DataSource({
    type: 'postgres',
    url,
    entities: [],
    migrations: MIGRATIONS,
    migrationsTableName: 'taxiway_migrations',
    synchronize: false,
    migrationsRun: false,
    logging: false,
    // pg parses the whole URL itself (TypeORM's parser drops query parameters such as sslmode or a
    // unix-socket host=/run/postgresql).
    extra: {
      connectionString: url,
      max: poolSize,
      idleTimeoutMillis: 30_000,
      connectionTimeoutMillis: timeouts.connectMs,
      statement_timeout: timeouts.statementMs,
      query_timeout: timeouts.statementMs + 2000,
      keepAlive: true,
      application_name: 'taxiway',
    },
  });
}

/** Runs pending migrations under a PostgreSQL advisory lock; returns the names it applied. */
export async function migrate(ds: DataSource): Promise<string[]> {
  const qr = ds.createQueryRunner();
  await qr.connect();
  try {
    // A migration of a large table may run longer than a request may: no statement timeout here.
    await qr.query('SET statement_timeout = 0');
    await qr.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      const exec = new MigrationExecutor(ds, qr);
      exec.transaction = 'each';
      const done = await exec.executePendingMigrations();
      return done.map((m) => m.name);
    } finally {
      await qr.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
      await qr.query('RESET statement_timeout');
    }
  } finally {
    await qr.release();
  }
}

/** True when every known migration is applied (readiness); rejects if the database does not answer within `timeoutMs`. */
export async function migrationsAtHead(ds: DataSource, timeoutMs = 2000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('Query read timeout (readiness)')), timeoutMs);
  });
  const query: Promise<{ name: string }[]> = ds.query(`SELECT name FROM taxiway_migrations`);
  const rows = await Promise.race([query, timeout]).finally(() => clearTimeout(timer));
  const applied = new Set(rows.map((r) => r.name));
  return MIGRATIONS.every((m) => applied.has(m.name));
}

/** The connection pool's state, for the metrics: connections in use, idle, and callers waiting for one. */
export function poolStats(ds: DataSource): { inUse: number; idle: number; waiting: number } | undefined {
  const pool = (ds.driver as unknown as { master?: { totalCount: number; idleCount: number; waitingCount: number } }).master;
  return pool === undefined ? undefined : { inUse: pool.totalCount - pool.idleCount, idle: pool.idleCount, waiting: pool.waitingCount };
}
