import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

/**
 * A throwaway PostgreSQL server for tests and benchmarks: Debian's initdb/pg_ctl on a free loopback
 * port, data in a temporary directory, removed on stop. With DATABASE_URL set, that server is used
 * instead. Nothing is faked: this is the real server the production deployment runs.
 */
export interface PgServer {
  readonly url: string;
  /** Creates an empty database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
  /** Fault injection, on a server these helpers started (undefined for DATABASE_URL). */
  readonly faults?: PgFaults;
}

/** What fault tests do to a real PostgreSQL. */
export interface PgFaults {
  /** Shuts the server down (fast mode: connections are terminated). */
  down(): Promise<void>;
  /** Starts it again on the same port and data. */
  up(): Promise<void>;
  /** SIGSTOP to the postmaster and every backend: connections stay open and nothing answers. */
  freeze(): Promise<void>;
  thaw(): Promise<void>;
}

export function findPgBin(): string | undefined {
  const fromEnv = process.env['PG_BIN'];
  if (fromEnv !== undefined && existsSync(join(fromEnv, 'pg_ctl'))) return fromEnv;
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base)
      .filter((v) => existsSync(join(base, v, 'bin', 'pg_ctl')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0] !== undefined) return join(base, versions[0], 'bin');
  }
  const which = spawnSync('sh', ['-c', 'command -v pg_ctl'], { encoding: 'utf8' });
  const p = which.stdout.trim();
  return p === '' ? undefined : p.replace(/\/pg_ctl$/, '');
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function runningAsRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function asPostgresUser(bin: string, args: string[]): void {
  const [cmd, argv] = runningAsRoot() ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  execFileSync(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
}

async function adminQuery(url: string, sql: string): Promise<void> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

export interface StartOptions {
  /** Durability settings off (fsync, synchronous_commit): fine for tests, not for benchmarks. */
  readonly fast?: boolean;
}

/** A server we did not start (DATABASE_URL): databases are dropped and re-created; stopping leaves it running. */
function externalServer(url: string): PgServer {
  return {
    url,
    createDatabase: async (name) => {
      await adminQuery(url, `DROP DATABASE IF EXISTS "${name}"`);
      await adminQuery(url, `CREATE DATABASE "${name}"`);
      return withDatabase(url, name);
    },
    stop: () => Promise.resolve(),
  };
}

/** The `pg_ctl -o` server options: loopback only, socket in `dir`, and with `fast` no durability. */
function serverSettings(port: number, dir: string, opts: StartOptions): string {
  return [
    `-p ${port}`,
    `-k ${dir}`,
    `-c listen_addresses=127.0.0.1`,
    `-c max_connections=200`,
    `-c shared_buffers=256MB`,
    ...(opts.fast === true ? ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off'] : []),
  ].join(' ');
}

/** Stops the server on `data` (at once: test data need no clean shutdown) and removes its directory `dir`. */
function stopLocalServer(bin: string, data: string, dir: string): void {
  try {
    asPostgresUser(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs a synchronous step as a promise; like an async function, an exception becomes a rejection. */
function asPromise(step: () => void): Promise<void> {
  return new Promise((resolve) => {
    step();
    resolve();
  });
}

export async function startPostgres(opts: StartOptions = {}): Promise<PgServer> {
  const external = process.env['DATABASE_URL'];
  if (external !== undefined && external !== '') return externalServer(external);
  const bin = findPgBin();
  if (bin === undefined)
    throw new Error("PostgreSQL server binaries not found: install Debian's postgresql package (scripts/test-all.sh does) or set DATABASE_URL");
  const dir = mkdtempSync(join(tmpdir(), 'taxiway-pg-'));
  chmodSync(dir, 0o777);
  const data = join(dir, 'data');
  if (runningAsRoot()) execFileSync('chown', ['postgres', dir]);
  asPostgresUser(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale']);
  const port = await freePort();
  asPostgresUser(join(bin, 'pg_ctl'), ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '60', '-o', serverSettings(port, dir, opts), 'start']);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const start = (): void =>
    asPostgresUser(join(bin, 'pg_ctl'), ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '60', '-o', serverSettings(port, dir, opts), 'start']);
  return {
    url,
    createDatabase: async (name) => {
      await adminQuery(url, `CREATE DATABASE "${name}"`);
      return withDatabase(url, name);
    },
    stop: () => asPromise(() => stopLocalServer(bin, data, dir)),
    faults: {
      down: () => asPromise(() => asPostgresUser(join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop'])),
      up: () => asPromise(start),
      freeze: () => asPromise(() => signalAll(data, 'STOP')),
      thaw: () => asPromise(() => signalAll(data, 'CONT')),
    },
  };
}

/** Sends a signal to the postmaster of `data` and all its children. */
function signalAll(data: string, signal: 'STOP' | 'CONT'): void {
  const pid = readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]?.trim() ?? '';
  if (!/^\d+$/.test(pid)) throw new Error(`no postmaster pid in ${data}`);
  const children = spawnSync('pgrep', ['-P', pid], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter((p) => /^\d+$/.test(p.trim()));
  // Children first, so none is left running by a postmaster that stopped before signalling them.
  for (const p of [...children, pid]) process.kill(Number(p), `SIG${signal}`);
}
