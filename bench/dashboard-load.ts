/**
 * Renders the chart's Grafana dashboard with real data: starts PostgreSQL, the server and a real
 * Prometheus (scraping every 2 s), runs a few minutes of MSSP-like traffic (three trust groups,
 * consumers polling at different intervals, one that stops polling halfway, some refused objects
 * and client errors), then draws every panel of charts/taxiway/files/dashboards/taxiway.json from
 * Prometheus' answers to its own queries (bench/render_dashboard.py, matplotlib) into
 * docs/dashboard.png. Grafana itself cannot be installed here; the queries, data and layout are
 * the dashboard's.
 *
 * Usage: npx tsx bench/dashboard-load.ts [--minutes 4]
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { hashSync } from '@node-rs/argon2';
import { loadConfig } from '@taxiway/config';
import type { DesiredState } from '@taxiway/domain';
import { freePort, generateCorpus, startPostgres } from '@taxiway/testing';
import { createTaxiwayServer } from '../apps/api/src/server';

const REPO = resolve(__dirname, '..');
const ROOTS = ['energy-isac', 'finance-isac', 'health-isac'];
const CONSUMERS: { name: string; roots: string[]; everyMs: number; stopAtFraction?: number }[] = [
  { name: 'northwind', roots: ['energy-isac', 'finance-isac'], everyMs: 2_000 },
  { name: 'gridco', roots: ['energy-isac'], everyMs: 5_000 },
  { name: 'bank-one', roots: ['finance-isac'], everyMs: 3_000, stopAtFraction: 0.5 },
  { name: 'sentinel-soc', roots: ['finance-isac', 'health-isac'], everyMs: 1_500 },
  { name: 'clinic-7', roots: ['health-isac'], everyMs: 8_000 },
];
const PRODUCERS = ['mssp-analyst'];

function state(hash: string): DesiredState {
  const principals = [...CONSUMERS.map((c) => c.name), ...PRODUCERS].map((name) => ({
    name,
    displayName: name,
    disabled: false,
    passwordHash: () => Promise.resolve(hash),
  }));
  return {
    apiRoots: ROOTS.map((r) => ({
      name: r,
      path: r,
      title: r,
      description: undefined,
      maxContentLength: 10_000_000,
      deletionPolicy: 'Retain' as const,
      grants: [
        { principal: 'mssp-analyst', role: 'admin' as const },
        ...CONSUMERS.filter((c) => c.roots.includes(r)).map((c) => ({ principal: c.name, role: 'read' as const })),
      ],
    })),
    collections: ROOTS.flatMap((r) =>
      ['indicators', 'reports'].map((c) => ({
        name: c,
        apiRoot: r,
        id: undefined,
        alias: c,
        title: c,
        description: undefined,
        mediaTypes: ['application/stix+json;version=2.1'],
        deletionPolicy: 'Delete' as const,
        grants: [],
      })),
    ),
    principals,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { minutes: { type: 'string' } } });
  const minutes = Number(values.minutes ?? '4');
  const dir = mkdtempSync(join(tmpdir(), 'taxiway-dash-'));
  const pg = await startPostgres();
  const password = 'load-pw';
  const port = await freePort();
  const metricsPort = await freePort();
  const server = await createTaxiwayServer(
    loadConfig(
      { PORT: String(port), METRICS_PORT: String(metricsPort), HOST: '127.0.0.1', DATABASE_URL: await pg.createDatabase('dashboard'), LOG_LEVEL: 'warn' },
      [],
    ),
    {
      state: state(hashSync(password)),
      logger: false,
    },
  );
  const url = await server.listen();
  const promPort = await freePort();
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global: { scrape_interval: 2s }\nscrape_configs:\n  - job_name: taxiway\n    static_configs: [{ targets: ['127.0.0.1:${metricsPort}'], labels: { namespace: taxiway, pod: taxiway-api-0 } }]\n`,
  );
  const prom = spawn(
    'prometheus',
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`],
    { stdio: 'ignore' },
  );
  const auth = (u: string) => ({ authorization: `Basic ${Buffer.from(`${u}:${password}`).toString('base64')}`, accept: 'application/taxii+json;version=2.1' });
  const start = Date.now();
  const end = start + minutes * 60_000;
  const corpus = generateCorpus(20_000, { seed: 7 });
  let cursor = 0;
  const producer = async (): Promise<void> => {
    while (Date.now() < end) {
      const root = ROOTS[Math.floor(Math.random() * ROOTS.length)] ?? 'energy-isac';
      const coll = Math.random() < 0.7 ? 'indicators' : 'reports';
      const n = 20 + Math.floor(Math.random() * 180);
      const objects: unknown[] = corpus.slice(cursor % 19_000, (cursor % 19_000) + n);
      cursor += n;
      if (Math.random() < 0.2) objects.push({ type: 'indicator', id: 'not-an-id' });
      await fetch(`${url}/${root}/collections/${coll}/objects/`, {
        method: 'POST',
        headers: { ...auth('mssp-analyst'), 'content-type': 'application/taxii+json;version=2.1' },
        body: JSON.stringify({ objects }),
      });
      await new Promise((r) => setTimeout(r, 400 + Math.random() * 800));
    }
  };
  const consumer = async (c: (typeof CONSUMERS)[number]): Promise<void> => {
    const stopAt = c.stopAtFraction === undefined ? end : start + (end - start) * c.stopAtFraction;
    while (Date.now() < stopAt) {
      for (const root of c.roots)
        for (const coll of ['indicators', 'reports'])
          await fetch(`${url}/${root}/collections/${coll}/objects/?limit=500`, { headers: auth(c.name) }).then((r) => r.arrayBuffer());
      if (Math.random() < 0.1) await fetch(`${url}/${c.roots[0] ?? ''}/collections/nope/objects/`, { headers: auth(c.name) });
      await new Promise((r) => setTimeout(r, c.everyMs));
    }
  };
  const noise = async (): Promise<void> => {
    while (Date.now() < end) {
      await fetch(`${url}/taxii2/`, { headers: { accept: 'application/taxii+json;version=2.1' } });
      await new Promise((r) => setTimeout(r, 3000));
    }
  };
  process.stderr.write(`load for ${minutes} min against ${url}, Prometheus on ${promPort}\n`);
  await Promise.all([producer(), producer(), ...CONSUMERS.map(consumer), noise()]);
  await new Promise((r) => setTimeout(r, 5000));
  const python = resolve(REPO, '.venv-dashboard/bin/python');
  if (!existsSync(python)) {
    execFileSync('python3', ['-m', 'venv', resolve(REPO, '.venv-dashboard')], { stdio: 'inherit' });
    execFileSync(python, ['-m', 'pip', 'install', '-q', 'matplotlib'], { stdio: 'inherit' });
  }
  execFileSync(
    python,
    [
      resolve(__dirname, 'render_dashboard.py'),
      `http://127.0.0.1:${promPort}`,
      resolve(REPO, 'charts/taxiway/files/dashboards/taxiway.json'),
      String(start / 1000),
      String(Date.now() / 1000),
      resolve(REPO, 'docs/dashboard.png'),
    ],
    { stdio: 'inherit' },
  );
  prom.kill('SIGTERM');
  await server.close();
  await pg.stop();
  rmSync(dir, { recursive: true, force: true });
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`dashboard-load: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
