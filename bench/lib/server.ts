import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { freePort } from '@taxiway/testing';
import type { Cleanup } from './cleanup';

export const API_ROOT = 'bench';
export const PRINCIPAL = 'bench';
/** The measured collection. */
export const BENCH_COLLECTION = '5b1e2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
/** Receives the warm-up posts, so they do not count in the measured collection. */
export const WARMUP_COLLECTION = '0f1e2d3c-4b5a-4987-8654-3210fedcba98';

const READY_TIMEOUT_MS = 180_000;
const STOP_TIMEOUT_MS = 15_000;
const LOG_TAIL_LINES = 40;

export interface LogSummary {
  /** JSON log lines at level warn (40), and Node process warnings on stderr. */
  readonly warnings: number;
  /** JSON log lines at level error or fatal (>= 50), plus any other stderr output. */
  readonly errors: number;
  readonly tail: readonly string[];
}

/** Collects the server's stdout/stderr lines: counts warnings and errors, keeps the last few lines. */
class LogCollector {
  private warnings = 0;
  private errors = 0;
  private readonly tail: string[] = [];
  private partial: Record<'stdout' | 'stderr', string> = { stdout: '', stderr: '' };

  feed(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    const lines = (this.partial[stream] + chunk.toString('utf8')).split('\n');
    this.partial[stream] = lines.pop() ?? '';
    for (const line of lines) if (line.trim() !== '') this.line(stream, line);
  }

  private line(stream: 'stdout' | 'stderr', line: string): void {
    const level = stream === 'stderr' ? stderrLevel(line) : jsonLevel(line);
    if (level >= 50) this.errors++;
    else if (level >= 40) this.warnings++;
    this.tail.push(`[${stream}] ${line.length > 2000 ? line.slice(0, 2000) + '…' : line}`);
    if (this.tail.length > LOG_TAIL_LINES) this.tail.shift();
  }

  summary(): LogSummary {
    return { warnings: this.warnings, errors: this.errors, tail: [...this.tail] };
  }
}

/** Node's own process warnings (deprecations and the like) count as warnings; anything else on stderr as an error. */
function stderrLevel(line: string): number {
  return /^\(node:\d+\) (\[\w+\] )?\w*(Warning|Deprecation)\b/.test(line) || line.startsWith('(Use `node --trace-') ? 40 : 50;
}

function jsonLevel(line: string): number {
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed === 'object' && parsed !== null && 'level' in parsed && typeof parsed.level === 'number') return parsed.level;
  } catch {
    // not JSON: treat as informational output
  }
  return 30;
}

/** VmHWM (peak resident set size) of a live process, in KiB. */
export function peakRssKb(pid: number): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m?.[1] === undefined ? undefined : Number(m[1]);
  } catch {
    return undefined;
  }
}

export interface ServerProcess {
  readonly origin: string;
  readonly pid: number;
  /** Throws (with the log tail) if the server has exited. */
  assertAlive(): void;
  logs(): LogSummary;
  stop(): Promise<void>;
}

export interface ServerLaunch {
  readonly mainJs: string;
  readonly configPath: string;
  /** Secrets the configuration references, and other server settings of the tenancy mode. */
  readonly env: Readonly<Record<string, string>>;
  /** DATABASE_URL or TAXIWAY_DATA_DIR. */
  readonly databaseEnv: Readonly<Record<string, string>>;
  /** The server is registered here the moment it is spawned. */
  readonly cleanup: Cleanup;
}

/** The harness environment minus every variable the server reads, plus the benchmark's own. */
function serverEnv(launch: ServerLaunch, port: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['DATABASE_URL', 'TAXIWAY_DATA_DIR', 'TAXIWAY_CONFIG', 'PUBLIC_BASE_URL', 'CURSOR_SECRET']) delete env[name];
  return {
    ...env,
    ...launch.databaseEnv,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    // Two servers run side by side: no own metrics listener (the benchmarks do not scrape).
    METRICS_PORT: '0',
    DEFAULT_PAGE_SIZE: '1000',
    MAX_PAGE_SIZE: '10000',
    ...launch.env,
  };
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  if (await waitForExit(child, STOP_TIMEOUT_MS)) return;
  child.kill('SIGKILL');
  await waitForExit(child, 5_000);
}

async function isReady(origin: string): Promise<boolean> {
  try {
    const res = await request(`${origin}/readyz`, { headersTimeout: 5_000, bodyTimeout: 5_000 });
    await res.body.dump();
    return res.statusCode === 200;
  } catch {
    return false;
  }
}

function describeExit(child: ChildProcess, logs: LogSummary): string {
  return `server exited (code ${String(child.exitCode)}, signal ${String(child.signalCode)}); last output:\n${logs.tail.join('\n')}`;
}

async function waitUntilReady(child: ChildProcess, origin: string, logs: LogCollector): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(describeExit(child, logs.summary()));
    if (await isReady(origin)) return;
    await sleep(100);
  }
  throw new Error(`server not ready after ${READY_TIMEOUT_MS / 1000}s; last output:\n${logs.summary().tail.join('\n')}`);
}

/** Spawns `node apps/api/dist/main.js` on a free loopback port and waits for /readyz. */
export async function startServer(launch: ServerLaunch): Promise<ServerProcess> {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [launch.mainJs, '--config', launch.configPath], {
    env: serverEnv(launch, port),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs = new LogCollector();
  child.on('error', (e) => logs.feed('stderr', Buffer.from(`spawn error: ${e.message}\n`)));
  child.stdout?.on('data', (c: Buffer) => logs.feed('stdout', c));
  child.stderr?.on('data', (c: Buffer) => logs.feed('stderr', c));
  const stop = launch.cleanup.add(`server ${origin}`, () => stopChild(child));
  const pid = child.pid;
  if (pid === undefined) {
    await stop();
    throw new Error('could not spawn the server');
  }
  const server: ServerProcess = {
    origin,
    pid,
    assertAlive: () => {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(describeExit(child, logs.summary()));
    },
    logs: () => logs.summary(),
    stop,
  };
  try {
    await waitUntilReady(child, origin, logs);
  } catch (e: unknown) {
    await stop();
    throw e;
  }
  return server;
}
