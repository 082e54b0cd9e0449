/**
 * What auth costs: runs the benchmark alternately with `--tenancy single` (one user, no grants,
 * Basic password, no read audit) and `--tenancy mssp` (200 other tenants, groups, overrides, an API
 * key, a rate limit and read audit), PostgreSQL only, and compares medians. Alternating rounds
 * cancel most of this machine's drift. Writes bench/results/auth-overhead.{json,md}.
 *
 * Usage: npx tsx bench/auth-overhead.ts [--rounds N] [any bench/run.ts size option]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BackendResult } from './lib/backend-run';
import type { TenancyMode } from './lib/tenancy';

const BENCH_DIR = __dirname;
const TSX = resolve(BENCH_DIR, '..', 'node_modules', '.bin', 'tsx');
/** Objects in 1000- and 100-object envelopes, read seconds and page passes of each run. */
const DEFAULT_RUN = ['--objects-1000', '30000', '--objects-100', '10000', '--read-seconds', '8', '--page-passes', '3'];
const BUDGET = 0.1;

interface Figures {
  ingest1000: number;
  ingest100: number;
  pageThrough: number;
  readsPerSecond: number;
  readsP99: number;
}

const METRICS: readonly { key: keyof Figures; label: string; higherIsBetter: boolean }[] = [
  { key: 'ingest1000', label: 'Ingest, 1000-object envelopes (objects/s)', higherIsBetter: true },
  { key: 'ingest100', label: 'Ingest, 100-object envelopes (objects/s)', higherIsBetter: true },
  { key: 'pageThrough', label: 'Page-through, limit=1000 (objects/s)', higherIsBetter: true },
  { key: 'readsPerSecond', label: 'Filtered reads (requests/s)', higherIsBetter: true },
  { key: 'readsP99', label: 'Filtered reads p99 (ms)', higherIsBetter: false },
];

function runOnce(mode: TenancyMode, outDir: string, name: string, extra: readonly string[]): Figures {
  execFileSync(TSX, [join(BENCH_DIR, 'run.ts'), '--backend', 'postgres', '--tenancy', mode, '--out', outDir, '--out-name', name, ...extra], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const r = JSON.parse(readFileSync(join(outDir, `${name}.json`), 'utf8')) as { backends: BackendResult[] };
  const b = r.backends[0];
  if (b?.ok !== true || b.ingest1000 === undefined || b.ingest100 === undefined || b.pageThrough === undefined || b.reads === undefined)
    throw new Error(`${mode} run failed: ${String(b?.error)}`);
  return {
    ingest1000: b.ingest1000.objectsPerSecond,
    ingest100: b.ingest100.objectsPerSecond,
    pageThrough: b.pageThrough.objectsPerSecond,
    readsPerSecond: b.reads.requestsPerSecond,
    readsP99: b.reads.latency.p99Ms,
  };
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
};
const fmt = (n: number): string => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1));

function main(): number {
  const argv = process.argv.slice(2);
  const r = argv.indexOf('--rounds');
  const rounds = r >= 0 ? Number(argv[r + 1]) : 3;
  const extra = r >= 0 ? [...argv.slice(0, r), ...argv.slice(r + 2)] : argv;
  const runArgs = extra.length > 0 ? extra : DEFAULT_RUN;
  const out = mkdtempSync(join(tmpdir(), 'taxiway-auth-overhead-'));
  const runs: Record<TenancyMode, Figures[]> = { single: [], mssp: [] };
  try {
    for (let i = 0; i < rounds; i++) {
      // Alternate which goes first, so neither always runs on a warmer machine.
      const order: TenancyMode[] = i % 2 === 0 ? ['single', 'mssp'] : ['mssp', 'single'];
      for (const mode of order) {
        process.stderr.write(`[auth-overhead] round ${i + 1}/${rounds}: ${mode}\n`);
        runs[mode].push(runOnce(mode, out, `${mode}-${i}`, runArgs));
      }
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  const rows = METRICS.map((m) => {
    const a = median(runs.single.map((f) => f[m.key]));
    const b = median(runs.mssp.map((f) => f[m.key]));
    const cost = m.higherIsBetter ? (a - b) / a : (b - a) / a;
    return { ...m, single: a, mssp: b, cost, within: cost <= BUDGET };
  });
  const md = [
    `Auth overhead — ${new Date().toISOString()}, PostgreSQL, median of ${rounds} alternating rounds (${runArgs.join(' ')})`,
    '',
    '| measure | single user, no grants | MSSP catalogue, API key, read audit | cost | within 10% |',
    '| --- | ---: | ---: | ---: | --- |',
    ...rows.map((x) => `| ${x.label} | ${fmt(x.single)} | ${fmt(x.mssp)} | ${(x.cost * 100).toFixed(1)}% | ${x.within ? 'yes' : 'NO'} |`),
    '',
  ].join('\n');
  process.stdout.write(md);
  writeFileSync(join(BENCH_DIR, 'results', 'auth-overhead.md'), md);
  writeFileSync(join(BENCH_DIR, 'results', 'auth-overhead.json'), JSON.stringify({ date: new Date().toISOString(), rounds, runArgs, runs, rows }, null, 2));
  return rows.every((x) => x.within) ? 0 : 1;
}

process.exit(main());
