import { generateCorpus } from '@taxiway/testing';
import type { Backend } from './backends';
import { cpuSampler } from './cpu';
import type { Cleanup } from './cleanup';
import { ingest, prepareEnvelopes, warmUpIngest, type IngestResult } from './ingest';
import type { BackendName, Options } from './options';
import { expectedLatestVersions, pageThrough, type PageThroughResult } from './page-through';
import { measureReads, type ReadResult } from './reads';
import { BENCH_COLLECTION, peakRssKb, startServer, type ServerProcess } from './server';
import type { BenchTenancy } from './tenancy';
import { TaxiiClient } from './taxii-client';

const PAGE_LIMIT = 1000;
const MAX_INGEST_SECONDS = 1800;

export interface RunContext {
  readonly opts: Options;
  readonly mainJs: string;
  readonly tenancy: BenchTenancy;
  readonly cleanup: Cleanup;
  /** Progress lines go to stderr, so stdout holds only the results. */
  readonly progress: (line: string) => void;
}

/** One server process of a backend run: which phase it served, its peak RSS and log counts. */
export interface ServerReport {
  readonly phase: string;
  readonly peakRssKb: number | undefined;
  readonly logWarnings: number;
  readonly logErrors: number;
  readonly logTail?: readonly string[];
}

export interface BackendResult {
  readonly backend: BackendName;
  readonly label: string;
  ok: boolean;
  error?: string;
  objects1000: number;
  objects100: number;
  distinctIds1000: number;
  ingest1000?: IngestResult;
  ingest100?: IngestResult;
  pageThrough?: PageThroughResult;
  reads?: ReadResult;
  /** Max VmHWM over the backend's server processes (PGlite: includes the embedded database). */
  peakRssKb?: number;
  readonly servers: ServerReport[];
}

function serverReport(phase: string, server: ServerProcess, rssKb: number | undefined): ServerReport {
  const logs = server.logs();
  return { phase, peakRssKb: rssKb, logWarnings: logs.warnings, logErrors: logs.errors, ...(logs.errors > 0 && { logTail: logs.tail }) };
}

/** The message of a thrown value. */
function describeError(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** One phase of a backend run: the server it starts reports into `result`. */
interface ServerPhase {
  readonly backend: Backend;
  /** Names the phase's database and its entry in `result.servers`. */
  readonly phase: string;
  readonly result: BackendResult;
}

/** Starts a server on a fresh database, runs `work`, records peak RSS and logs, and stops it. */
async function withServer(
  ctx: RunContext,
  { backend, phase, result }: ServerPhase,
  work: (client: TaxiiClient, server: ServerProcess) => Promise<void>,
): Promise<void> {
  ctx.progress(`${backend.label}/${phase}: starting server on a fresh database`);
  const server = await startServer({
    mainJs: ctx.mainJs,
    configPath: ctx.tenancy.configPath,
    env: ctx.tenancy.serverEnv,
    databaseEnv: await backend.freshDatabase(phase),
    cleanup: ctx.cleanup,
  });
  const client = new TaxiiClient(server.origin, ctx.tenancy.authorization, Math.max(ctx.opts.readConcurrency, ctx.opts.ingestConcurrency));
  let failure: unknown;
  try {
    await work(client, server);
    server.assertAlive();
  } catch (e: unknown) {
    failure = e;
  }
  const rssKb = peakRssKb(server.pid);
  result.servers.push(serverReport(phase, server, rssKb));
  if (rssKb !== undefined) result.peakRssKb = Math.max(result.peakRssKb ?? 0, rssKb);
  await client.destroy().catch(() => undefined);
  await server.stop();
  if (failure !== undefined) {
    const tail = server.logs().tail.slice(-10).join('\n');
    throw new Error(`${backend.label}/${phase}: ${describeError(failure)}${tail === '' ? '' : `\nserver output (last lines):\n${tail}`}`);
  }
}

/** Ingest in 1000-object envelopes, then page through and run the filtered-read mix on that data. */
async function mainPhase(ctx: RunContext, backend: Backend, result: BackendResult): Promise<void> {
  const { opts } = ctx;
  const corpus = generateCorpus(opts.sizes[backend.name].large, { seed: opts.seed });
  const expected = expectedLatestVersions(corpus);
  result.objects1000 = corpus.length;
  result.distinctIds1000 = expected.size;
  const prepared = prepareEnvelopes(corpus, 1000);
  await withServer(ctx, { backend, phase: 'envelopes-1000', result }, async (client, server) => {
    await warmUpIngest(client, opts.seed);
    ctx.progress(`${backend.label}: ingesting ${corpus.length} objects in envelopes of 1000, ${opts.ingestConcurrency} in flight`);
    result.ingest1000 = await ingest(client, BENCH_COLLECTION, prepared, { concurrency: opts.ingestConcurrency, maxSeconds: MAX_INGEST_SECONDS });
    ctx.progress(`${backend.label}: paging through ${expected.size} objects at limit=${PAGE_LIMIT}, ${opts.pagePasses} pass(es)`);
    const paged = await pageThrough(client, BENCH_COLLECTION, expected, { limit: PAGE_LIMIT, passes: opts.pagePasses });
    result.pageThrough = paged.result;
    ctx.progress(`${backend.label}: filtered reads, concurrency ${opts.readConcurrency}, ${opts.readSeconds}s`);
    const mix = { collectionId: BENCH_COLLECTION, ids: [...expected.keys()], middleDateAdded: paged.middleDateAdded, seed: opts.seed };
    result.reads = await measureReads(client, mix, {
      concurrency: opts.readConcurrency,
      seconds: opts.readSeconds,
      warmupSeconds: opts.readWarmupSeconds,
      maxRequests: opts.readMaxRequests,
      cpu: cpuSampler(server.pid),
    });
  });
}

/** Ingest in 100-object envelopes on its own fresh database; one untimed page-through checks the result. */
async function smallEnvelopePhase(ctx: RunContext, backend: Backend, result: BackendResult): Promise<void> {
  const { opts } = ctx;
  const corpus = generateCorpus(opts.sizes[backend.name].small, { seed: opts.seed });
  result.objects100 = corpus.length;
  const prepared = prepareEnvelopes(corpus, 100);
  await withServer(ctx, { backend, phase: 'envelopes-100', result }, async (client) => {
    await warmUpIngest(client, opts.seed);
    ctx.progress(`${backend.label}: ingesting ${corpus.length} objects in envelopes of 100, ${opts.ingestConcurrency} in flight`);
    result.ingest100 = await ingest(client, BENCH_COLLECTION, prepared, { concurrency: opts.ingestConcurrency, maxSeconds: MAX_INGEST_SECONDS });
    await pageThrough(client, BENCH_COLLECTION, expectedLatestVersions(corpus), { limit: PAGE_LIMIT, passes: 1 });
  });
}

/** Runs every measurement on one backend; a failure is recorded in the result, not thrown. */
export async function runBackend(ctx: RunContext, backend: Backend): Promise<BackendResult> {
  const result: BackendResult = { backend: backend.name, label: backend.label, ok: false, objects1000: 0, objects100: 0, distinctIds1000: 0, servers: [] };
  try {
    await mainPhase(ctx, backend, result);
    await smallEnvelopePhase(ctx, backend, result);
    result.ok = result.servers.every((s) => s.logErrors === 0);
    if (!result.ok) result.error = 'the server logged errors (see servers[].logTail)';
  } catch (e: unknown) {
    result.error = describeError(e);
  }
  return result;
}
