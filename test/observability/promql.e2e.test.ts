import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { freePort } from '@taxiway/testing';
import { basic, client, startServer, type RunningServer } from '../support/server';
import { inbox as taxii1Inbox, NS11, poll, post, subscription } from '../support/taxii1';
import { indicator, indicatorId, RW, STATE } from '../../apps/api/test/fixture';

// Depth: observability (a real Prometheus scrapes the real server; every dashboard and alert query runs against it).
const CHART = resolve(__dirname, '../../charts/taxiway/files');
const dashboard = JSON.parse(readFileSync(join(CHART, 'dashboards/taxiway.json'), 'utf8')) as { panels: { title: string; targets: { expr: string }[] }[] };
const rules = parse(readFileSync(join(CHART, 'prometheus-rules.yaml'), 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] };

const expressions: [string, string][] = [
  ...dashboard.panels.flatMap((p) =>
    p.targets.map((t, i) => [`panel "${p.title}" #${i + 1}`, t.expr.replaceAll('$api_root', '.*').replaceAll('$__rate_interval', '1m')] as [string, string]),
  ),
  ...rules.groups.flatMap((g) => g.rules.map((r) => [`alert ${r.alert}`, r.expr] as [string, string])),
];

describe('dashboard and alert PromQL against a real Prometheus scraping the server (issue 5)', () => {
  let s: RunningServer;
  let prom: ChildProcess;
  let promUrl: string;
  let dir: string;
  let inbox: Server;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Prometheus API answers of several shapes
  const q = async (path: string) => (await (await fetch(`${promUrl}${path}`)).json()) as { status: string; data: any; error?: string };

  beforeAll(async () => {
    s = await startServer(STATE, { env: { TAXII1_PUSH_ALLOW_PRIVATE: 'true', TAXII1_PUSH_INTERVAL_MS: '100' } });
    // A subscriber's inbox, so that the push panels and alerts have data.
    inbox = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, {
          'content-type': 'application/xml',
          'x-taxii-content-type': 'urn:taxii.mitre.org:message:xml:1.1',
          'x-taxii-services': 'urn:taxii.mitre.org:services:1.1',
        });
        res.end(`<taxii_11:Status_Message xmlns:taxii_11="${NS11}" message_id="1" in_response_to="1" status_type="SUCCESS"/>`);
      });
    });
    await new Promise<void>((r) => inbox.listen(0, '127.0.0.1', r));
    const inboxUrl = `http://127.0.0.1:${(inbox.address() as AddressInfo).port}/inbox/`;
    await post(s.url, '/taxii1/tenant-a/collection-management/', subscription('rw', { action: 'SUBSCRIBE', push: { address: inboxUrl } }), {
      auth: basic('alice'),
    });
    dir = mkdtempSync(join(tmpdir(), 'taxiway-prom-'));
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    writeFileSync(
      join(dir, 'prometheus.yml'),
      `global: { scrape_interval: 1s, evaluation_interval: 1s }
rule_files: [${join(CHART, 'prometheus-rules.yaml')}]
scrape_configs:
  - job_name: taxiway
    static_configs: [{ targets: ['${new URL(s.server.metricsUrl()).host}'], labels: { namespace: test, pod: taxiway-api-0 } }]
`,
    );
    prom = spawn(
      'prometheus',
      [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
      { stdio: 'ignore' },
    );
    const scrapes = async () =>
      Number((await q('/api/v1/query?query=count_over_time(up{job="taxiway"}[5m])').catch(() => undefined))?.data?.result?.[0]?.value?.[1] ?? 0);
    const waitScrapes = async (n: number) => {
      for (let i = 0; i < 120 && (await scrapes()) < n; i++) await new Promise((r) => setTimeout(r, 250));
    };
    await waitScrapes(1);
    const before = await scrapes();
    const alice = client(s.url, basic('alice'));
    const bob = client(s.url, basic('bob'));
    for (let i = 0; i < 6; i++) {
      await alice.post(`/tenant-a/collections/${RW}/objects/`, { objects: [indicator(indicatorId()), { id: 'bad' }] });
      await alice.get(`/tenant-a/collections/${RW}/objects/`);
      await bob.get(`/tenant-a/collections/${RW}/manifest/`);
      await client(s.url, undefined).get('/taxii2/');
      await post(s.url, '/taxii1/tenant-a/inbox/rw/', taxii1Inbox([{ content: `<p${i}/>` }]), { auth: basic('alice') });
      await post(s.url, '/taxii1/tenant-a/poll/', poll('rw'), { auth: basic('bob') });
      await new Promise((r) => setTimeout(r, 500));
    }
    // Two more scrapes after the workload, so that rate() and increase() see it.
    await waitScrapes(before + 5);
  }, 120_000);
  afterAll(async () => {
    prom?.kill('SIGTERM');
    inbox?.close();
    await s?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('references only metrics the server exposes', async () => {
    const names = new Set((await q('/api/v1/label/__name__/values')).data as string[]);
    const missing = expressions.flatMap(([where, expr]) =>
      [...expr.matchAll(/\btaxiway_[a-z0-9_]+/g)]
        .map((m) => m[0])
        .filter((n) => !names.has(n))
        .map((n) => `${where}: ${n}`),
    );
    expect(missing).toEqual([]);
  });

  it.each(expressions)('%s evaluates without error', async (_where, expr) => {
    const r = await q(`/api/v1/query?query=${encodeURIComponent(expr)}`);
    expect(r.error).toBeUndefined();
    expect(r.status).toBe('success');
  });

  it('shows real sharing data in the main panels', async () => {
    const value = async (expr: string) => Number((await q(`/api/v1/query?query=${encodeURIComponent(expr)}`)).data.result[0]?.value[1] ?? NaN);
    expect(await value('sum(increase(taxiway_objects_ingested_total[1m]))')).toBeGreaterThan(0);
    expect(await value('sum(taxiway_consumer_objects_served_total{principal="bob"})')).toBeGreaterThan(0);
    expect(await value('sum(taxiway_ingest_failures_total{reason="invalid"})')).toBe(6);
    expect(await value('sum(taxiway_taxii1_messages_total{message="inbox",answer="SUCCESS"})')).toBe(6);
    expect(await value('sum(taxiway_taxii1_push_blocks_total)')).toBe(6);
  });

  it('loads every alert rule into Prometheus with health ok', async () => {
    const groups = (await q('/api/v1/rules')).data.groups as { rules: { name: string; health: string }[] }[];
    const loaded = groups.flatMap((g) => g.rules.map((r) => `${r.name}:${r.health}`));
    expect(loaded.sort()).toEqual(rules.groups.flatMap((g) => g.rules.map((r) => `${r.alert}:ok`)).sort());
  });
});
