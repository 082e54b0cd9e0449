/**
 * What one large Add Objects envelope costs the server and everyone else while it is processed
 * (issue 12): for 10 MiB and 100 MiB envelopes of one huge indicator and of many small, realistic
 * STIX objects, a fresh server on a fresh database each time, measured:
 * - the POST's wall time (it answers when every object is stored);
 * - the server's peak RSS (VmHWM) as a multiple of the body;
 * - /healthz and a small GET by another tenant, probed every 20 ms during the POST: p99 and max;
 * - the server's event-loop lag p99 and max over the POST (prom-client's, from /metrics).
 *
 * Writes bench/results/large-envelope.{json,md}. Usage:
 *   npx tsx bench/large-envelope.ts [--backend postgres|pglite] [--sizes 10,100]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { hashSync } from '@node-rs/argon2';
import { freePort, largeEnvelope, whileProbing, type Probe } from '@taxiway/testing';
import { openBackend } from './lib/backends';
import { Cleanup } from './lib/cleanup';
import type { BackendName } from './lib/options';
import { peakRssKb, startServer } from './lib/server';
import { summarizeLatencies } from './lib/stats';

const MAIN_JS = resolve(__dirname, '..', 'apps', 'api', 'dist', 'main.js');
const MiB = 1024 * 1024;
const BIG_COLLECTION = '7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const OTHER_COLLECTION = '8b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e';
const TAXII = 'application/taxii+json;version=2.1';
const auth = (user: string): string => `Basic ${Buffer.from(`${user}:${user}-pw`).toString('base64')}`;

type Shape = 'one object' | 'many small';

interface Result {
  readonly backend: string;
  readonly shape: Shape;
  readonly mib: number;
  readonly objects: number;
  readonly status: number;
  readonly seconds: number;
  readonly peakRssMiB: number;
  readonly rssPerBodyByte: number;
  readonly healthP99Ms: number;
  readonly healthMaxMs: number;
  readonly otherTenantP99Ms: number;
  readonly lagP99Ms: number;
  readonly lagMaxMs: number;
}

function config(dir: string): string {
  const hash = (u: string): string => hashSync(`${u}-pw`);
  const yaml = `apiVersion: taxiway.io/v1alpha1
kind: ApiRoot
metadata: { name: big }
spec: { title: Big, maxContentLength: ${110 * MiB}, grants: [{ principal: writer, role: write }] }
---
apiVersion: taxiway.io/v1alpha1
kind: Collection
metadata: { name: big }
spec: { apiRoot: big, id: ${BIG_COLLECTION}, title: Big }
---
apiVersion: taxiway.io/v1alpha1
kind: ApiRoot
metadata: { name: other }
spec: { title: Other tenant, grants: [{ principal: other, role: read }] }
---
apiVersion: taxiway.io/v1alpha1
kind: Collection
metadata: { name: other }
spec: { apiRoot: other, id: ${OTHER_COLLECTION}, title: Other }
---
apiVersion: taxiway.io/v1alpha1
kind: Principal
metadata: { name: writer }
spec: { passwordHash: "${hash('writer')}" }
---
apiVersion: taxiway.io/v1alpha1
kind: Principal
metadata: { name: other }
spec: { passwordHash: "${hash('other')}" }
`;
  const path = join(dir, 'large-envelope.yaml');
  writeFileSync(path, yaml);
  return path;
}

async function scrapeLag(metricsUrl: string): Promise<{ p99: number; max: number }> {
  const text = await (await fetch(metricsUrl)).text();
  const read = (name: string): number => Number(new RegExp(`^${name} ([0-9.eE+-]+)`, 'm').exec(text)?.[1] ?? NaN) * 1000;
  return { p99: read('taxiway_nodejs_eventloop_lag_p99_seconds'), max: read('taxiway_nodejs_eventloop_lag_max_seconds') };
}

async function measure(run: { backendName: BackendName; dir: string; cleanup: Cleanup }, shape: Shape, mib: number): Promise<Result> {
  const { backendName, dir, cleanup } = run;
  const backend = await openBackend(backendName, dir, cleanup);
  const metricsPort = await freePort();
  const server = await startServer({
    mainJs: MAIN_JS,
    configPath: config(dir),
    env: { METRICS_PORT: String(metricsPort), MAX_OBJECTS_PER_ENVELOPE: '10000000', DB_STATEMENT_TIMEOUT_SECONDS: '600', HTTP_REQUEST_TIMEOUT_SECONDS: '1800' },
    databaseEnv: await backend.freshDatabase(`large_${shape.replace(' ', '_')}_${mib}`),
    cleanup,
  });
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  try {
    const { body, objects } = largeEnvelope(shape, mib);
    // Warm the server (JIT, pool, caches) with a small request of each kind first.
    await fetch(`${server.origin}/other/collections/${OTHER_COLLECTION}/objects/`, { headers: { authorization: auth('other'), accept: TAXII } });
    await scrapeLag(metricsUrl);
    const probes: Probe[] = [
      { url: `${server.origin}/healthz`, headers: {} },
      { url: `${server.origin}/other/collections/${OTHER_COLLECTION}/objects/?limit=1`, headers: { authorization: auth('other'), accept: TAXII } },
    ];
    const { result, seconds, latencies } = await whileProbing(probes, async () => {
      const r = await fetch(`${server.origin}/big/collections/${BIG_COLLECTION}/objects/`, {
        method: 'POST',
        headers: { authorization: auth('writer'), accept: TAXII, 'content-type': TAXII },
        body,
      });
      return { res: r, answer: (await r.json()) as { success_count?: number } };
    });
    const { res, answer } = result;
    const [h, o] = [summarizeLatencies(latencies[0] ?? []), summarizeLatencies(latencies[1] ?? [])];
    const lag = await scrapeLag(metricsUrl);
    if (res.status !== 202 || answer.success_count !== objects)
      throw new Error(`the envelope was not stored whole: ${res.status} ${JSON.stringify(answer).slice(0, 300)}`);
    const peak = (peakRssKb(server.pid) ?? NaN) / 1024;
    return {
      backend: backend.label,
      shape,
      mib,
      objects,
      status: res.status,
      seconds,
      peakRssMiB: peak,
      rssPerBodyByte: (peak * MiB) / Buffer.byteLength(body),
      healthP99Ms: h.p99Ms,
      healthMaxMs: h.maxMs,
      otherTenantP99Ms: o.p99Ms,
      lagP99Ms: lag.p99,
      lagMaxMs: lag.max,
    };
  } finally {
    await server.stop();
    await backend.close();
  }
}

function table(results: readonly Result[]): string {
  const f = (n: number, d = 0): string => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '-');
  const rows = results.map(
    (r) =>
      `| ${r.backend} | ${r.mib} MiB, ${r.shape} (${f(r.objects)}) | ${f(r.seconds, 1)} s | ${f(r.peakRssMiB)} MiB (${f(r.rssPerBodyByte, 1)}×) | ${f(r.healthP99Ms)} / ${f(r.healthMaxMs)} ms | ${f(r.otherTenantP99Ms)} ms | ${f(r.lagP99Ms)} / ${f(r.lagMaxMs)} ms |`,
  );
  return [
    '| backend | envelope (objects) | POST | server peak RSS (× body) | /healthz p99 / max | other tenant GET p99 | event-loop lag p99 / max |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
  ].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { backend: { type: 'string', default: 'postgres' }, sizes: { type: 'string', default: '10,100' } } });
  const backendName = values.backend === 'pglite' ? 'pglite' : 'postgres';
  const sizes = values.sizes.split(',').map(Number);
  const cleanup = new Cleanup();
  const dir = mkdtempSync(join(tmpdir(), 'taxiway-large-'));
  cleanup.add('work dir', () => rmSync(dir, { recursive: true, force: true }));
  const results: Result[] = [];
  try {
    for (const shape of ['one object', 'many small'] as const) {
      for (const mib of sizes) {
        process.stderr.write(`[large-envelope] ${backendName}: ${mib} MiB, ${shape}\n`);
        results.push(await measure({ backendName, dir, cleanup }, shape, mib));
      }
    }
  } finally {
    await cleanup.runAll();
  }
  const md = `Large envelopes — ${new Date().toISOString()}, ${backendName}\n\n${table(results)}\n`;
  const out = resolve(__dirname, 'results');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'large-envelope.json'), JSON.stringify(results, null, 2));
  writeFileSync(join(out, 'large-envelope.md'), md);
  process.stdout.write(md);
}

void main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
