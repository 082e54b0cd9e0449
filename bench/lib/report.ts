import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import type { BackendResult } from './backend-run';
import type { Options } from './options';
import { READ_KIND_LABELS } from './reads';

/** The issue's targets, for PostgreSQL. */
export const TARGETS = {
  ingest1000ObjectsPerSecond: 15_000,
  pageThroughObjectsPerSecond: 75_000,
  readP99Ms: 20,
} as const;

export interface Machine {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryMiB: number;
  readonly node: string;
  readonly platform: string;
  readonly gitCommit: string | undefined;
  /** 1/5/15-minute load average when the run started: other work on the machine skews the figures. */
  readonly loadAverageAtStart: readonly number[];
}

export interface Results {
  readonly date: string;
  readonly profile: Options['profile'];
  readonly machine: Machine;
  readonly settings: {
    readonly seed: number;
    readonly ingestConcurrency: number;
    readonly readConcurrency: number;
    readonly readSeconds: number;
    readonly readMix: readonly string[];
    readonly pageLimit: number;
    readonly pagePasses: number;
    readonly postgres: string;
    readonly tenancy: Options['tenancy'];
  };
  readonly targets: typeof TARGETS;
  readonly backends: readonly BackendResult[];
}

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m?.[1] !== undefined) return m[1].trim();
  } catch {
    // not Linux: fall back to what Node reports
  }
  return cpus()[0]?.model ?? 'unknown';
}

function gitCommit(cwd: string): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

export function describeMachine(repoDir: string): Machine {
  return {
    cpuModel: cpuModel(),
    cores: cpus().length,
    memoryMiB: Math.round(totalmem() / 1024 / 1024),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    gitCommit: gitCommit(repoDir),
    loadAverageAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

export function buildResults(opts: Options, machine: Machine, backends: readonly BackendResult[], pageLimit: number): Results {
  return {
    date: new Date().toISOString(),
    profile: opts.profile,
    machine,
    settings: {
      seed: opts.seed,
      ingestConcurrency: opts.ingestConcurrency,
      readConcurrency: opts.readConcurrency,
      readSeconds: opts.readSeconds,
      readMix: Object.values(READ_KIND_LABELS),
      pageLimit,
      pagePasses: opts.pagePasses,
      postgres: process.env['DATABASE_URL'] === undefined ? 'throwaway local server (initdb), durable settings' : 'external server from DATABASE_URL',
      tenancy: opts.tenancy,
    },
    targets: TARGETS,
    backends,
  };
}

// ---- formatting -------------------------------------------------------------------------------

const int = (n: number | undefined): string => (n === undefined || !Number.isFinite(n) ? '—' : Math.round(n).toLocaleString('en-US'));
const ms = (n: number | undefined): string => (n === undefined || !Number.isFinite(n) ? '—' : n < 10 ? n.toFixed(2) : n.toFixed(1));
const mib = (kb: number | undefined): string => (kb === undefined ? '—' : `${Math.round(kb / 1024).toLocaleString('en-US')}`);

function verdict(value: number | undefined, target: number, higherIsBetter: boolean): string {
  if (value === undefined || !Number.isFinite(value)) return '';
  return (higherIsBetter ? value >= target : value < target) ? ' (met)' : ' (MISSED)';
}

interface Row {
  readonly metric: string;
  readonly cell: (b: BackendResult) => string;
  readonly target: (pg: BackendResult | undefined) => string;
}

const ROWS: readonly Row[] = [
  {
    metric: 'Ingest, 1000-object envelopes (objects/s)',
    cell: (b) => int(b.ingest1000?.objectsPerSecond),
    target: (pg) => `≥ ${int(TARGETS.ingest1000ObjectsPerSecond)}${verdict(pg?.ingest1000?.objectsPerSecond, TARGETS.ingest1000ObjectsPerSecond, true)}`,
  },
  { metric: 'Ingest, 100-object envelopes (objects/s)', cell: (b) => int(b.ingest100?.objectsPerSecond), target: () => '' },
  {
    metric: 'Page-through, limit=1000 (objects/s)',
    cell: (b) => int(b.pageThrough?.objectsPerSecond),
    target: (pg) => `≥ ${int(TARGETS.pageThroughObjectsPerSecond)}${verdict(pg?.pageThrough?.objectsPerSecond, TARGETS.pageThroughObjectsPerSecond, true)}`,
  },
  { metric: 'Filtered reads (requests/s)', cell: (b) => int(b.reads?.requestsPerSecond), target: () => '' },
  { metric: 'Filtered reads p50 (ms)', cell: (b) => ms(b.reads?.latency.p50Ms), target: () => '' },
  {
    metric: 'Filtered reads p99 (ms)',
    cell: (b) => ms(b.reads?.latency.p99Ms),
    target: (pg) => `< ${TARGETS.readP99Ms}${verdict(pg?.reads?.latency.p99Ms, TARGETS.readP99Ms, false)}`,
  },
  { metric: 'Filtered reads, server CPU per request (µs)', cell: (b) => int(b.reads?.cpuUsPerRequest?.server), target: () => '' },
  { metric: 'Filtered reads, PostgreSQL CPU per request (µs)', cell: (b) => int(b.reads?.cpuUsPerRequest?.database), target: () => '' },
  { metric: 'Peak server RSS, VmHWM (MiB)', cell: (b) => mib(b.peakRssKb), target: () => '' },
  { metric: 'Objects ingested (1000- / 100-envelopes)', cell: (b) => `${int(b.objects1000)} / ${int(b.objects100)}`, target: () => '' },
  { metric: 'Distinct objects paged through', cell: (b) => int(b.pageThrough?.objects), target: () => '' },
];

function tableCells(results: Results): string[][] {
  const pg = results.backends.find((b) => b.backend === 'postgres');
  const header = ['Metric', ...results.backends.map((b) => b.label), 'Target (PostgreSQL)'];
  const body = ROWS.map((r) => [r.metric, ...results.backends.map(r.cell), r.target(pg)]);
  return [header, ...body];
}

function settingsLine(results: Results): string {
  const s = results.settings;
  return `tenancy ${s.tenancy}; ingest: ${s.ingestConcurrency} concurrent posting clients; page-through: limit=${s.pageLimit}, median of ${s.pagePasses} pass(es); filtered reads: concurrency ${s.readConcurrency}, ${s.readSeconds}s, mix of ${s.readMix.length} request kinds`;
}

function machineLine(results: Results): string {
  const m = results.machine;
  return `${results.date} · ${m.cpuModel}, ${m.cores} cores, ${int(m.memoryMiB)} MiB · Node ${m.node} · ${m.platform}${m.gitCommit === undefined ? '' : ` · commit ${m.gitCommit}`} · load ${m.loadAverageAtStart.join(' ')} at start · profile ${results.profile}`;
}

function failures(results: Results): string[] {
  return results.backends.filter((b) => !b.ok).map((b) => `${b.label} FAILED: ${b.error ?? 'unknown error'}`);
}

export function textReport(results: Results): string {
  const rows = tableCells(results);
  const widths = rows[0]?.map((_, col) => Math.max(...rows.map((r) => (r[col] ?? '').length))) ?? [];
  const line = (r: readonly string[]): string => r.map((c, col) => (col === 0 ? c.padEnd(widths[col] ?? 0) : c.padStart(widths[col] ?? 0))).join('  ');
  const [header, ...body] = rows;
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [
    `Taxiway benchmark — ${machineLine(results)}`,
    settingsLine(results),
    '',
    line(header ?? []),
    rule,
    ...body.map(line),
    ...failures(results).map((f) => `\n${f}`),
    '',
  ].join('\n');
}

export function markdownReport(results: Results): string {
  const rows = tableCells(results);
  const [header, ...body] = rows;
  const md = (r: readonly string[]): string => `| ${r.join(' | ')} |`;
  return [
    md(header ?? []),
    md((header ?? []).map((_, i) => (i === 0 ? '---' : '---:'))),
    ...body.map(md),
    '',
    `_${machineLine(results)}._ ${settingsLine(results)}.`,
    ...failures(results).map((f) => `\n**${f.split('\n')[0] ?? f}**`),
    '',
  ].join('\n');
}

/** Writes <name>.json and <name>.md; returns their paths. */
export function writeResults(results: Results, dir: string, name: string): { json: string; md: string } {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, `${name}.json`);
  const md = join(dir, `${name}.md`);
  writeFileSync(json, JSON.stringify(results, null, 2) + '\n');
  writeFileSync(md, markdownReport(results));
  return { json, md };
}
