/**
 * What tenancy and auth cost, measured side by side: two servers on one throwaway PostgreSQL, one
 * with `--tenancy single` (one user, no grants, Basic password, no read audit) and one with
 * `--tenancy mssp` (200 other trust groups, 2000 principals in groups, role and override grants, an
 * API key, a rate limit, read audit), loaded in short alternating slices by one load generator, so
 * that this machine's drift (±30% within minutes) hits both alike. Writes
 * bench/results/auth-overhead.{json,md}. Exit 1 if a figure with auth on is more than 10% worse.
 *
 * Usage: npx tsx bench/auth-overhead.ts [--objects N] [--slices N] [--slice-seconds S]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
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

const BENCH_DIR = __dirname;
const MAIN_JS = resolve(BENCH_DIR, '..', 'apps', 'api', 'dist', 'main.js');
const MODES: readonly TenancyMode[] = ['single', 'mssp'];
const BUDGET = 0.1;
const READ_CONCURRENCY = 16;
const SEED = 42;

interface Side {
  readonly mode: TenancyMode;
  readonly server: ServerProcess;
  readonly client: TaxiiClient;
  readonly cpu: () => CpuSample;
  mix?: ReadMix;
  ingest: { objects: number; seconds: number };
  pagePasses: number[];
  reads: { requests: number; seconds: number; latencies: number[]; cpuMs: number };
}

const progress = (line: string): void => void process.stderr.write(`[auth-overhead ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

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
  readonly single: number;
  readonly mssp: number;
  readonly higherIsBetter: boolean;
}

function rows(single: Side, mssp: Side): Row[] {
  const f = (s: Side) => ({
    ingest: s.ingest.objects / s.ingest.seconds,
    page: median(s.pagePasses),
    rps: s.reads.requests / s.reads.seconds,
    p50: summarizeLatencies(s.reads.latencies).p50Ms,
    p99: summarizeLatencies(s.reads.latencies).p99Ms,
    cpu: (s.reads.cpuMs * 1000) / s.reads.requests,
  });
  const a = f(single);
  const b = f(mssp);
  return [
    { label: 'Ingest, 1000-object envelopes (objects/s)', single: a.ingest, mssp: b.ingest, higherIsBetter: true },
    { label: 'Page-through, limit=1000 (objects/s, median pass)', single: a.page, mssp: b.page, higherIsBetter: true },
    { label: 'Filtered reads, concurrency 16 (requests/s)', single: a.rps, mssp: b.rps, higherIsBetter: true },
    { label: 'Filtered reads p50 (ms)', single: a.p50, mssp: b.p50, higherIsBetter: false },
    { label: 'Filtered reads p99 (ms)', single: a.p99, mssp: b.p99, higherIsBetter: false },
    { label: 'Filtered reads, server + PostgreSQL CPU per request (µs)', single: a.cpu, mssp: b.cpu, higherIsBetter: false },
  ];
}

const fmt = (n: number): string => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1));
const cost = (r: Row): number => (r.higherIsBetter ? (r.single - r.mssp) / r.single : (r.mssp - r.single) / r.single);

function report(table: readonly Row[], settings: string): string {
  return [
    `Auth overhead — ${new Date().toISOString()}, PostgreSQL (durable), ${settings}`,
    '',
    '| measure | single user, no grants | MSSP catalogue, API key, read audit | cost | within 10% |',
    '| --- | ---: | ---: | ---: | --- |',
    ...table.map((r) => `| ${r.label} | ${fmt(r.single)} | ${fmt(r.mssp)} | ${(cost(r) * 100).toFixed(1)}% | ${cost(r) <= BUDGET ? 'yes' : 'NO'} |`),
    '',
  ].join('\n');
}

async function startSide(mode: TenancyMode, dir: string, databaseEnv: Record<string, string>, cleanup: Cleanup): Promise<Side> {
  const tenancy = prepareTenancy(mode, dir);
  const server = await startServer({ mainJs: MAIN_JS, configPath: tenancy.configPath, env: tenancy.serverEnv, databaseEnv, cleanup });
  const client = new TaxiiClient(server.origin, tenancy.authorization, READ_CONCURRENCY);
  await warmUpIngest(client, SEED);
  return {
    mode,
    server,
    client,
    cpu: cpuSampler(server.pid),
    ingest: { objects: 0, seconds: 0 },
    pagePasses: [],
    reads: { requests: 0, seconds: 0, latencies: [], cpuMs: 0 },
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { objects: { type: 'string' }, slices: { type: 'string' }, 'slice-seconds': { type: 'string' } } });
  const objects = Number(values.objects ?? '30000');
  const slices = Number(values.slices ?? '10');
  const sliceSeconds = Number(values['slice-seconds'] ?? '2');
  const cleanup = new Cleanup();
  cleanup.installSignalHandlers();
  const dir = mkdtempSync(join(tmpdir(), 'taxiway-auth-overhead-'));
  cleanup.add('work directory', () => rmSync(dir, { recursive: true, force: true }));
  try {
    const backend = await openBackend('postgres', dir, cleanup);
    const sides: Side[] = [];
    for (const mode of MODES) sides.push(await startSide(mode, dir, await backend.freshDatabase(`auth_${mode}`), cleanup));
    const corpus = generateCorpus(objects, { seed: SEED });
    progress(`ingesting ${objects} objects into each server in alternating slices of 3 envelopes`);
    await ingestSlices(sides, prepareEnvelopes(corpus, 1000), 3);
    progress(`paging through, ${slices} alternating passes each`);
    await pageSlices(sides, expectedLatestVersions(corpus), slices);
    progress(`filtered reads, ${slices} alternating ${sliceSeconds}s slices each`);
    await readSlices(sides, slices, sliceSeconds);
    for (const s of sides) await s.client.destroy();
    const [single, mssp] = sides;
    if (single === undefined || mssp === undefined) throw new Error('both servers must run');
    const table = rows(single, mssp);
    const settings = `${objects} objects, ${slices} alternating slices per phase, reads ${sliceSeconds}s per slice`;
    const md = report(table, settings);
    process.stdout.write(md);
    writeFileSync(join(BENCH_DIR, 'results', 'auth-overhead.md'), md);
    writeFileSync(join(BENCH_DIR, 'results', 'auth-overhead.json'), JSON.stringify({ date: new Date().toISOString(), settings, rows: table }, null, 2));
    return table.every((r) => cost(r) <= BUDGET) ? 0 : 1;
  } finally {
    await cleanup.runAll();
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`auth-overhead: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
