import { resolve } from 'node:path';
import { TENANCY_MODES, type TenancyMode } from './tenancy';

export type BackendName = 'postgres' | 'pglite';
export const BACKENDS: readonly BackendName[] = ['postgres', 'pglite'];

/** How many objects each ingest measurement posts. */
export interface IngestSizes {
  /** Objects posted in envelopes of 1000 (this collection is also the one read back). */
  readonly large: number;
  /** Objects posted in envelopes of 100. */
  readonly small: number;
}

export interface Options {
  readonly profile: 'full' | 'quick';
  readonly backends: readonly BackendName[];
  readonly sizes: Readonly<Record<BackendName, IngestSizes>>;
  /** Concurrent posting clients during ingest. */
  readonly ingestConcurrency: number;
  /** Concurrent clients (and keep-alive connections) for the filtered-read mix. */
  readonly readConcurrency: number;
  /** Measured duration of the filtered-read mix, after the warm-up. */
  readonly readSeconds: number;
  /** Hard cap on measured filtered-read requests (whichever comes first: count or duration). */
  readonly readMaxRequests: number;
  readonly readWarmupSeconds: number;
  /** Full page-through passes; the median is reported. */
  readonly pagePasses: number;
  readonly seed: number;
  /** single: one user, no grants; mssp: 200 other tenants, groups, overrides, an API key, read audit. */
  readonly tenancy: TenancyMode;
  readonly outDir: string;
  /** Basename of the result files: latest.{json,md} for full runs, quick.{json,md} for --quick. */
  readonly outName: string;
}

interface Profile {
  readonly sizes: Readonly<Record<BackendName, IngestSizes>>;
  readonly readSeconds: number;
  readonly readWarmupSeconds: number;
  readonly pagePasses: number;
}

const FULL: Profile = {
  sizes: { postgres: { large: 50_000, small: 20_000 }, pglite: { large: 20_000, small: 10_000 } },
  readSeconds: 10,
  readWarmupSeconds: 2,
  pagePasses: 3,
};

const QUICK: Profile = {
  sizes: { postgres: { large: 5_000, small: 2_000 }, pglite: { large: 3_000, small: 1_000 } },
  readSeconds: 2,
  readWarmupSeconds: 0.5,
  pagePasses: 1,
};

export const USAGE = `Usage: npx tsx bench/run.ts [options]

  --quick                 small sizes, short read phase (smoke run); writes results/quick.{json,md}
  --backend <b>           postgres | pglite | all (default all)           env BENCH_BACKEND
  --objects-1000 <n>      objects ingested in 1000-object envelopes      env BENCH_OBJECTS_1000
  --objects-100 <n>       objects ingested in 100-object envelopes       env BENCH_OBJECTS_100
                          (default: per backend and profile, see bench/README.md)
  --ingest-concurrency <n> concurrent posting clients (default 3)        env BENCH_INGEST_CONCURRENCY
  --read-concurrency <n>  concurrent filtered-read clients (default 16)  env BENCH_READ_CONCURRENCY
  --read-seconds <s>      measured filtered-read duration                env BENCH_READ_SECONDS
  --read-max <n>          cap on measured filtered reads (default 1000000) env BENCH_READ_MAX
  --page-passes <n>       full page-through passes, median reported      env BENCH_PAGE_PASSES
  --seed <n>              corpus seed (default 42)                       env BENCH_SEED
  --tenancy <t>           single (one user, no grants, Basic) | mssp (200 other tenants, groups,
                          overrides, API key, rate limit, read audit); default single  env BENCH_TENANCY
  --out-name <name>       basename of the result files (default latest / quick)  env BENCH_OUT_NAME
  --out <dir>             results directory (default bench/results)      env BENCH_OUT
  --help
`;

export class UsageError extends Error {}

type Flags = ReadonlyMap<string, string>;

const BOOLEAN_FLAGS = new Set(['--quick', '--help']);
const VALUE_FLAGS = new Set([
  '--backend',
  '--objects-1000',
  '--objects-100',
  '--ingest-concurrency',
  '--read-concurrency',
  '--read-seconds',
  '--read-max',
  '--page-passes',
  '--seed',
  '--tenancy',
  '--out',
  '--out-name',
]);

function parseFlags(argv: readonly string[]): Flags {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (BOOLEAN_FLAGS.has(name)) {
      flags.set(name, 'true');
    } else if (VALUE_FLAGS.has(name)) {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || value === '') throw new UsageError(`${name} needs a value`);
      flags.set(name, value);
    } else {
      throw new UsageError(`unknown argument ${JSON.stringify(arg)}`);
    }
  }
  return flags;
}

function raw(flags: Flags, flag: string, envName: string): string | undefined {
  const env = process.env[envName];
  return flags.get(flag) ?? (env === undefined || env === '' ? undefined : env);
}

function positiveNumber(flags: Flags, flag: string, envName: string, integer: boolean): number | undefined {
  const value = raw(flags, flag, envName);
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new UsageError(`${flag} (${envName}) must be a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(value)}`);
  }
  return n;
}

function parseBackends(value: string | undefined): readonly BackendName[] {
  if (value === undefined || value === 'all') return BACKENDS;
  const chosen = BACKENDS.find((b) => b === value);
  if (chosen === undefined) throw new UsageError(`--backend must be postgres, pglite or all, got ${JSON.stringify(value)}`);
  return [chosen];
}

function sizesWithOverrides(profile: Profile, large: number | undefined, small: number | undefined): Record<BackendName, IngestSizes> {
  const apply = (s: IngestSizes): IngestSizes => ({ large: large ?? s.large, small: small ?? s.small });
  return { postgres: apply(profile.sizes.postgres), pglite: apply(profile.sizes.pglite) };
}

function parseTenancy(value: string | undefined): TenancyMode {
  if (value === undefined) return 'single';
  const mode = TENANCY_MODES.find((m) => m === value);
  if (mode === undefined) throw new UsageError(`--tenancy must be ${TENANCY_MODES.join(' or ')}, got ${JSON.stringify(value)}`);
  return mode;
}

export function wantsHelp(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

export function parseOptions(argv: readonly string[], benchDir: string): Options {
  const flags = parseFlags(argv);
  const quick = flags.has('--quick') || process.env['BENCH_QUICK'] === '1';
  const profile = quick ? QUICK : FULL;
  const int = (flag: string, env: string): number | undefined => positiveNumber(flags, flag, env, true);
  return {
    profile: quick ? 'quick' : 'full',
    backends: parseBackends(raw(flags, '--backend', 'BENCH_BACKEND')),
    sizes: sizesWithOverrides(profile, int('--objects-1000', 'BENCH_OBJECTS_1000'), int('--objects-100', 'BENCH_OBJECTS_100')),
    ingestConcurrency: int('--ingest-concurrency', 'BENCH_INGEST_CONCURRENCY') ?? 3,
    readConcurrency: int('--read-concurrency', 'BENCH_READ_CONCURRENCY') ?? 16,
    readSeconds: positiveNumber(flags, '--read-seconds', 'BENCH_READ_SECONDS', false) ?? profile.readSeconds,
    readMaxRequests: int('--read-max', 'BENCH_READ_MAX') ?? 1_000_000,
    readWarmupSeconds: profile.readWarmupSeconds,
    pagePasses: int('--page-passes', 'BENCH_PAGE_PASSES') ?? profile.pagePasses,
    seed: int('--seed', 'BENCH_SEED') ?? 42,
    tenancy: parseTenancy(raw(flags, '--tenancy', 'BENCH_TENANCY')),
    outDir: resolve(raw(flags, '--out', 'BENCH_OUT') ?? resolve(benchDir, 'results')),
    outName: raw(flags, '--out-name', 'BENCH_OUT_NAME') ?? (quick ? 'quick' : 'latest'),
  };
}
