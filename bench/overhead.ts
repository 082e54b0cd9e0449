/**
 * What a feature costs, measured side by side: two servers on one throwaway PostgreSQL, loaded in
 * short alternating slices by one load generator, so that this machine's drift (±30% within
 * minutes) hits both alike.
 *
 * --compare auth (default): `--tenancy single` (one user, no grants, Basic password, no read audit)
 *   against `--tenancy mssp` (200 other trust groups, 2000 principals in groups, role and override
 *   grants, an API key, a rate limit, read audit); budget 10% (issue 3).
 * --compare metrics: the single tenancy with METRICS_ENABLED=false against the same with metrics
 *   on (every request, page and object counted); budget 5% (issue 5).
 *
 * Writes bench/results/<compare>-overhead[-reverse].{json,md}; exit 1 if the second side is over budget.
 * Usage: npx tsx bench/overhead.ts [--compare auth|metrics] [--objects N] [--slices N] [--slice-seconds S]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { generateCorpus } from '@taxiway/testing';
import { openBackend } from './lib/backends';
import { Cleanup } from './lib/cleanup';
import { cpuSampler, type CpuSample } from './lib/cpu';
import { ingest, prepareEnvelopes, warmUpIngest, type PreparedEnvelope } from './lib/ingest';
import { expectedLatestVersions, pageThrough, type ExpectedLatest } from './lib/page-through';
import { READ_KINDS, runLoad, verifyReadMix, type ReadMix } from './lib/reads';
import { BENCH_COLLECTION, startServer, type ServerProcess } from './lib/server';
import { median, summarizeLatencies } from './lib/stats';
import { TaxiiClient } from './lib/taxii-client';
import { prepareTenancy, type TenancyMode } from './lib/tenancy';
import { mkdirSync } from 'node:fs';

const BENCH_DIR = __dirname;
const MAIN_JS = resolve(BENCH_DIR, '..', 'apps', 'api', 'dist', 'main.js');
/** One side of the comparison: how its server is configured. */
interface SideSpec {
  readonly label: string;
  readonly tenancy: TenancyMode;
  readonly env: Readonly<Record<string, string>>;
}

const COMPARISONS: Readonly<Record<string, { readonly sides: readonly [SideSpec, SideSpec]; readonly budget: number }>> = {
  auth: {
    sides: [
      { label: 'single user, no grants', tenancy: 'single', env: {} },
      { label: 'MSSP catalogue, API key, read audit', tenancy: 'mssp', env: {} },
    ],
    budget: 0.1,
  },
  metrics: {
    sides: [
      { label: 'metrics off', tenancy: 'single', env: { METRICS_ENABLED: 'false' } },
      { label: 'metrics on', tenancy: 'single', env: { METRICS_ENABLED: 'true' } },
    ],
    budget: 0.05,
  },
  // The harness against itself: what a "cost" of zero looks like on this machine.
  aa: {
    sides: [
      { label: 'metrics on (A)', tenancy: 'single', env: { METRICS_ENABLED: 'true' } },
      { label: 'metrics on (B)', tenancy: 'single', env: { METRICS_ENABLED: 'true' } },
    ],
    budget: 0.05,
  },
};
const READ_CONCURRENCY = 16;
const SEED = 42;

interface Side {
  readonly mode: string;
  readonly databaseUrl: string;
  readonly server: ServerProcess;
  readonly client: TaxiiClient;
  readonly cpu: () => CpuSample;
  mix?: ReadMix;
  ingest: { objects: number; seconds: number };
  pagePasses: number[];
  reads: { requests: number; seconds: number; latencies: number[]; cpuMs: number };
}

const progress = (line: string): void => void process.stderr.write(`[overhead ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

/** Runs `work` for both sides `rounds` times, alternating which goes first. */
async function alternate(sides: readonly Side[], rounds: number, work: (side: Side, round: number) => Promise<void>): Promise<void> {
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? sides : [...sides].reverse();
    for (const side of order) await work(side, r);
  }
}

async function ingestSlices(sides: readonly Side[], envelopes: readonly PreparedEnvelope[], perSlice: number): Promise<void> {
  const slices = Math.ceil(envelopes.length / perSlice);
  await alternate(sides, slices, async (side, r) => {
    const slice = envelopes.slice(r * perSlice, (r + 1) * perSlice);
    const res = await ingest(side.client, BENCH_COLLECTION, slice, { concurrency: 3, maxSeconds: 600 });
    side.ingest.objects += res.objects;
    side.ingest.seconds += res.seconds;
  });
}

async function pageSlices(sides: readonly Side[], expected: ExpectedLatest, passes: number): Promise<void> {
  await alternate(sides, passes, async (side) => {
    const paged = await pageThrough(side.client, BENCH_COLLECTION, expected, { limit: 1000, passes: 1 });
    side.pagePasses.push(paged.result.objectsPerSecond);
    side.mix ??= { collectionId: BENCH_COLLECTION, ids: [...expected.keys()], middleDateAdded: paged.middleDateAdded, seed: SEED };
  });
}

async function readSlices(sides: readonly Side[], slices: number, seconds: number): Promise<void> {
  for (const side of sides) {
    if (side.mix === undefined) throw new Error('page-through did not run');
    await verifyReadMix(side.client, side.mix);
    await runLoad(side.client, side.mix, { concurrency: READ_CONCURRENCY, seconds: 2, maxRequests: 1e9 }); // warm-up
  }
  await alternate(sides, slices, async (side) => {
    const mix = side.mix;
    if (mix === undefined) return;
    const c0 = side.cpu();
    const run = await runLoad(side.client, mix, { concurrency: READ_CONCURRENCY, seconds, maxRequests: 1e9 });
    const c1 = side.cpu();
    if (run.errors > 0) throw new Error(`${side.mode}: ${run.errors} reads failed; first: ${run.firstError ?? '?'}`);
    const all = READ_KINDS.flatMap((k) => run.latencies[k]);
    side.reads.requests += all.length;
    side.reads.seconds += run.seconds;
    side.reads.latencies.push(...all);
    side.reads.cpuMs += c1.serverMs - c0.serverMs + (c1.databaseMs - c0.databaseMs);
  });
}

interface Row {
  readonly label: string;
  /** The baseline side's figure and the other side's. */
  readonly base: number;
  readonly other: number;
  readonly higherIsBetter: boolean;
}

function rows(base: Side, other: Side): Row[] {
  const f = (s: Side) => ({
    ingest: s.ingest.objects / s.ingest.seconds,
    page: median(s.pagePasses),
    rps: s.reads.requests / s.reads.seconds,
    p50: summarizeLatencies(s.reads.latencies).p50Ms,
    p99: summarizeLatencies(s.reads.latencies).p99Ms,
    cpu: (s.reads.cpuMs * 1000) / s.reads.requests,
  });
  const a = f(base);
  const b = f(other);
  return [
    { label: 'Ingest, 1000-object envelopes (objects/s)', base: a.ingest, other: b.ingest, higherIsBetter: true },
    { label: 'Page-through, limit=1000 (objects/s, median pass)', base: a.page, other: b.page, higherIsBetter: true },
    { label: 'Filtered reads, concurrency 16 (requests/s)', base: a.rps, other: b.rps, higherIsBetter: true },
    { label: 'Filtered reads p50 (ms)', base: a.p50, other: b.p50, higherIsBetter: false },
    { label: 'Filtered reads p99 (ms)', base: a.p99, other: b.p99, higherIsBetter: false },
    { label: 'Filtered reads, server + PostgreSQL CPU per request (µs)', base: a.cpu, other: b.cpu, higherIsBetter: false },
  ];
}

const fmt = (n: number): string => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1));
const cost = (r: Row): number => (r.higherIsBetter ? (r.base - r.other) / r.base : (r.other - r.base) / r.base);

function report(name: string, c: (typeof COMPARISONS)[string], table: readonly Row[], settings: string): string {
  const pct = Math.round(c.budget * 100);
  return [
    `${name} overhead — ${new Date().toISOString()}, PostgreSQL (durable), ${settings}`,
    '',
    `| measure | ${c.sides[0].label} | ${c.sides[1].label} | cost | within ${pct}% |`,
    '| --- | ---: | ---: | ---: | --- |',
    ...table.map((r) => `| ${r.label} | ${fmt(r.base)} | ${fmt(r.other)} | ${(cost(r) * 100).toFixed(1)}% | ${cost(r) <= c.budget ? 'yes' : 'NO'} |`),
    '',
  ].join('\n');
}

async function analyze(databaseUrl: string): Promise<void> {
  const c = new Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    await c.query('ANALYZE');
  } finally {
    await c.end();
  }
}

async function startSide(spec: SideSpec, dir: string, databaseEnv: Record<string, string>, cleanup: Cleanup): Promise<Side> {
  const mode = spec.label;
  const sideDir = join(dir, `side-${spec.label.replace(/[^a-z0-9]+/gi, '-')}`);
  mkdirSync(sideDir, { recursive: true });
  const tenancy = prepareTenancy(spec.tenancy, sideDir);
  const server = await startServer({ mainJs: MAIN_JS, configPath: tenancy.configPath, env: { ...tenancy.serverEnv, ...spec.env }, databaseEnv, cleanup });
  const client = new TaxiiClient(server.origin, tenancy.authorization, READ_CONCURRENCY);
  await warmUpIngest(client, SEED);
  return {
    mode,
    databaseUrl: databaseEnv['DATABASE_URL'] ?? '',
    server,
    client,
    cpu: cpuSampler(server.pid),
    ingest: { objects: 0, seconds: 0 },
    pagePasses: [],
    reads: { requests: 0, seconds: 0, latencies: [], cpuMs: 0 },
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      compare: { type: 'string' },
      objects: { type: 'string' },
      slices: { type: 'string' },
      'slice-seconds': { type: 'string' },
      reverse: { type: 'boolean' },
    },
  });
  const name = values.compare ?? 'auth';
  const comparison = COMPARISONS[name];
  if (comparison === undefined) throw new Error(`--compare takes ${Object.keys(COMPARISONS).join(' or ')}`);
  const objects = Number(values.objects ?? '30000');
  const slices = Number(values.slices ?? '10');
  const sliceSeconds = Number(values['slice-seconds'] ?? '2');
  const cleanup = new Cleanup();
  cleanup.installSignalHandlers();
  const dir = mkdtempSync(join(tmpdir(), 'taxiway-overhead-'));
  cleanup.add('work directory', () => rmSync(dir, { recursive: true, force: true }));
  try {
    const backend = await openBackend('postgres', dir, cleanup);
    const sides: Side[] = [];
    // --reverse starts (and first loads) the second side first: the A/A run shows a few percent of
    // bias by position, which a forward and a reverse run cancel.
    const specs = values.reverse === true ? [...comparison.sides].reverse() : [...comparison.sides];
    for (const [i, spec] of specs.entries()) sides.push(await startSide(spec, dir, await backend.freshDatabase(`${name}_${i}`), cleanup));
    if (values.reverse === true) sides.reverse();
    const corpus = generateCorpus(objects, { seed: SEED });
    progress(`${name}: ingesting ${objects} objects into each server in alternating slices of 3 envelopes`);
    await ingestSlices(sides, prepareEnvelopes(corpus, 1000), 3);
    // The store refreshes planner statistics in the background after every 20,000 rows; run it on
    // both sides now, so that neither pages through with stale statistics (an A/A run showed 19%).
    for (const side of sides) await analyze(side.databaseUrl);
    progress(`paging through, ${slices} alternating passes each`);
    await pageSlices(sides, expectedLatestVersions(corpus), slices);
    progress(`filtered reads, ${slices} alternating ${sliceSeconds}s slices each`);
    await readSlices(sides, slices, sliceSeconds);
    for (const s of sides) await s.client.destroy();
    const [base, other] = sides;
    if (base === undefined || other === undefined) throw new Error('both servers must run');
    const table = rows(base, other);
    const settings = `${objects} objects, ${slices} alternating slices per phase, reads ${sliceSeconds}s per slice${values.reverse === true ? ', reversed positions' : ''}`;
    const md = report(name, comparison, table, settings);
    process.stdout.write(md);
    const out = `${name}-overhead${values.reverse === true ? '-reverse' : ''}`;
    writeFileSync(join(BENCH_DIR, 'results', `${out}.md`), md);
    writeFileSync(
      join(BENCH_DIR, 'results', `${out}.json`),
      JSON.stringify({ date: new Date().toISOString(), settings, sides: comparison.sides, rows: table }, null, 2),
    );
    return table.every((r) => cost(r) <= comparison.budget) ? 0 : 1;
  } finally {
    await cleanup.runAll();
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`overhead: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
