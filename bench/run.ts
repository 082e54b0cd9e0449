/**
 * Taxiway benchmark: ingest, page-through and filtered reads against a real server process, on
 * PostgreSQL and on embedded PGlite. See bench/README.md.  Usage: npx tsx bench/run.ts [--quick] [--backend postgres|pglite|all]
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runBackend, type BackendResult, type RunContext } from './lib/backend-run';
import { BACKEND_LABELS, openBackend, type Backend } from './lib/backends';
import { Cleanup } from './lib/cleanup';
import { parseOptions, USAGE, UsageError, wantsHelp, type BackendName, type Options } from './lib/options';
import { buildResults, describeMachine, textReport, writeResults } from './lib/report';
import { prepareTenancy } from './lib/tenancy';

const BENCH_DIR = __dirname;
const REPO_DIR = resolve(BENCH_DIR, '..');
const MAIN_JS = join(REPO_DIR, 'apps', 'api', 'dist', 'main.js');
const PAGE_LIMIT = 1000;

const progress = (line: string): void => {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
};

function failedResult(name: BackendName, e: unknown): BackendResult {
  return {
    backend: name,
    label: BACKEND_LABELS[name],
    ok: false,
    error: e instanceof Error ? e.message : String(e),
    objects1000: 0,
    objects100: 0,
    distinctIds1000: 0,
    servers: [],
  };
}

async function benchmarkBackend(name: BackendName, ctx: RunContext, workDir: string): Promise<BackendResult> {
  let backend: Backend;
  try {
    progress(`${BACKEND_LABELS[name]}: preparing`);
    backend = await openBackend(name, workDir, ctx.cleanup);
  } catch (e: unknown) {
    return failedResult(name, e);
  }
  try {
    return await runBackend(ctx, backend);
  } finally {
    await backend.close();
  }
}

async function run(opts: Options, cleanup: Cleanup): Promise<boolean> {
  if (!existsSync(MAIN_JS)) throw new Error(`${MAIN_JS} is missing: build first with \`npx tsc -b tsconfig.build.json\``);
  const machine = describeMachine(REPO_DIR);
  const workDir = mkdtempSync(join(tmpdir(), 'taxiway-bench-'));
  cleanup.add('work directory', () => rmSync(workDir, { recursive: true, force: true }));
  const ctx: RunContext = { opts, mainJs: MAIN_JS, tenancy: prepareTenancy(opts.tenancy, workDir), cleanup, progress };
  const backends: BackendResult[] = [];
  for (const name of opts.backends) {
    backends.push(await benchmarkBackend(name, ctx, workDir));
    if (cleanup.interrupted) return false;
  }
  const results = buildResults(opts, machine, backends, PAGE_LIMIT);
  process.stdout.write(textReport(results));
  const written = writeResults(results, opts.outDir, opts.outName);
  progress(`results written to ${written.json} and ${written.md}`);
  return backends.every((b) => b.ok);
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (wantsHelp(argv)) {
    process.stdout.write(USAGE);
    return 0;
  }
  let opts: Options;
  try {
    opts = parseOptions(argv, BENCH_DIR);
  } catch (e: unknown) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`bench: ${e.message}\n\n${USAGE}`);
    return 2;
  }
  const cleanup = new Cleanup();
  cleanup.installSignalHandlers();
  try {
    return (await run(opts, cleanup)) ? 0 : 1;
  } finally {
    await cleanup.runAll();
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
