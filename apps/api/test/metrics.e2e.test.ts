import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DesiredState } from '@taxiway/domain';
import { freePort } from '@taxiway/testing';
import { basic, client, principal, startServer, type RunningServer } from '../../../test/support/server';
import { indicator, indicatorId, RO, RW, STATE } from './fixture';

const WITH_LIMITED: DesiredState = {
  ...STATE,
  apiRoots: STATE.apiRoots.map((r) => (r.name === 'tenant-a' ? { ...r, grants: [...r.grants, { principal: 'limited', role: 'read' as const }] } : r)),
  principals: [...STATE.principals, { ...principal('limited'), rateLimit: { perSecond: 0.001, burst: 1 } }],
};

/** `name{labels}` → value, from a Prometheus text exposition. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

/** Runs the real Prometheus parser and linter over an exposition. */
function promtoolCheck(text: string): Promise<{ code: number; output: string }> {
  return new Promise((done) => {
    const p = execFile('promtool', ['check', 'metrics'], { timeout: 30_000 }, (err, stdout, stderr) =>
      done({ code: err === null ? 0 : 1, output: stdout + stderr }),
    );
    p.stdin?.end(text);
  });
}

describe('Prometheus metrics of a scripted workload (issue 5)', () => {
  let s: RunningServer;
  let text: string;
  let m: Map<string, number>;

  beforeAll(async () => {
    s = await startServer(WITH_LIMITED);
    const alice = client(s.url, basic('alice'));
    const id = indicatorId();
    // Ingest: one envelope of 3 (2 stored, 1 invalid), then one with a conflicting version of the first.
    await alice.post(`/tenant-a/collections/${RW}/objects/`, { objects: [indicator(id), indicator(indicatorId()), { type: 'indicator', id: 'bad' }] });
    await alice.post(`/tenant-a/collections/${RW}/objects/`, { objects: [{ ...indicator(id), name: 'changed' }] });
    // Serve: two object pages and a manifest to alice, one object page to bob.
    await alice.get(`/tenant-a/collections/${RW}/objects/`);
    await alice.get(`/tenant-a/collections/${RW}/objects/?limit=1`);
    await alice.get(`/tenant-a/collections/${RW}/manifest/`);
    await client(s.url, basic('bob')).get(`/tenant-a/collections/${RW}/objects/`);
    // Client errors: 401, 403, 404, 406, 413, 415, 429.
    await client(s.url, undefined).get('/taxii2/');
    await alice.post(`/tenant-a/collections/${RO}/objects/`, { objects: [indicator(indicatorId())] });
    await alice.get('/no-such-root/');
    await alice.get('/tenant-a/', { accept: 'text/html' });
    await alice.post(`/tenant-a/collections/${RW}/objects/`, { objects: [indicator(indicatorId(), undefined, { description: 'x'.repeat(60_000) })] });
    await alice.post(`/tenant-a/collections/${RW}/objects/`, 'not json', { 'content-type': 'text/plain' });
    const limited = client(s.url, basic('limited'));
    await limited.get('/tenant-a/');
    await limited.get('/tenant-a/');
    const r = await fetch(s.server.metricsUrl());
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    text = await r.text();
    m = samples(text);
  });
  afterAll(async () => {
    await s?.close();
  });

  it("parses with the real Prometheus parser and passes its linter (but for prom-client's own nodejs_active_* gauges)", async () => {
    const check = await promtoolCheck(text);
    const problems = check.output
      .split('\n')
      .filter((l) => l !== '' && !/^taxiway_nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/.test(l));
    expect(problems).toEqual([]);
    expect(check.output).not.toMatch(/error while linting|text format parsing error/);
  });

  it('counts objects, bytes, envelopes and failures ingested per API root and collection', () => {
    const c = 'api_root="tenant-a",collection="rw"';
    expect(m.get(`taxiway_envelopes_received_total{${c}}`)).toBe(2);
    expect(m.get(`taxiway_objects_ingested_total{${c}}`)).toBe(2);
    expect(m.get(`taxiway_ingest_failures_total{${c},reason="invalid"}`)).toBe(1);
    expect(m.get(`taxiway_ingest_failures_total{${c},reason="conflict"}`)).toBe(1);
    expect(m.get(`taxiway_ingested_bytes_total{${c}}`)).toBeGreaterThan(300);
  });

  it('counts objects, bytes and pages served per collection and endpoint, and per consumer with its last poll', () => {
    const c = 'api_root="tenant-a",collection="rw"';
    expect(m.get(`taxiway_pages_served_total{${c},endpoint="objects"}`)).toBe(3);
    expect(m.get(`taxiway_objects_served_total{${c},endpoint="objects"}`)).toBe(2 + 1 + 2);
    expect(m.get(`taxiway_pages_served_total{${c},endpoint="manifest"}`)).toBe(1);
    expect(m.get(`taxiway_objects_served_total{${c},endpoint="manifest"}`)).toBe(2);
    expect(m.get('taxiway_consumer_objects_served_total{api_root="tenant-a",principal="alice"}')).toBe(5);
    expect(m.get('taxiway_consumer_objects_served_total{api_root="tenant-a",principal="bob"}')).toBe(2);
    const lastPoll = m.get('taxiway_consumer_last_poll_timestamp_seconds{api_root="tenant-a",principal="bob"}') ?? 0;
    expect(Math.abs(lastPoll - Date.now() / 1000)).toBeLessThan(60);
    expect(m.get(`taxiway_served_bytes_total{${c}}`)).toBeGreaterThan(500);
  });

  it('counts requests by route template, method and status, and 4xx by reason', () => {
    expect(m.get('taxiway_http_requests_total{route="/:apiRoot/collections/:collectionId/objects",method="GET",status="200"}')).toBe(3);
    expect(m.get('taxiway_http_requests_total{route="/:apiRoot/collections/:collectionId/objects",method="POST",status="202"}')).toBe(2);
    for (const [status, reason] of [
      ['401', 'unauthenticated'],
      ['403', 'forbidden'],
      ['404', 'not_found'],
      ['406', 'not_acceptable'],
      ['413', 'payload_too_large'],
      ['415', 'unsupported_media_type'],
      ['429', 'too_many_requests'],
    ])
      expect(m.get(`taxiway_http_client_errors_total{status="${status}",reason="${reason}"}`), status).toBe(1);
    expect(m.get('taxiway_http_request_duration_seconds_count{route="/:apiRoot/collections/:collectionId/objects",method="GET"}')).toBe(3);
    expect(m.get('taxiway_statuses_pending')).toBe(0);
  });

  it('shows the database pool and storage operation latency, and process metrics', () => {
    expect(m.get('taxiway_db_pool_max_connections')).toBe(10);
    expect(m.has('taxiway_db_pool_connections{state="idle"}')).toBe(true);
    expect(m.get('taxiway_db_pool_connections{state="waiting"}')).toBe(0);
    expect(m.get('taxiway_db_operation_duration_seconds_count{operation="add_objects"}')).toBe(2);
    expect(m.get('taxiway_db_operation_duration_seconds_count{operation="page_json"}')).toBe(3);
    expect(m.has('taxiway_process_cpu_seconds_total')).toBe(true);
    expect(m.has('taxiway_nodejs_eventloop_lag_seconds')).toBe(true);
  });

  it('logs one line per request with request id, principal, root, collection, status, duration and objects, and no secrets', () => {
    const line = s.logs.find((l) => l['msg'] === 'request' && l['method'] === 'GET' && l['principal'] === 'bob');
    expect(line).toMatchObject({ status: 200, api_root: 'tenant-a', collection: 'rw', objects: 2, route: '/:apiRoot/collections/:collectionId/objects' });
    expect(typeof line?.['req_id']).toBe('string');
    expect(typeof line?.['ms']).toBe('number');
    const all = JSON.stringify(s.logs);
    expect(all).not.toContain('alice-pw');
    expect(all).not.toContain(Buffer.from('alice:alice-pw').toString('base64'));
    expect(all).not.toContain('203.0.113.9'); // object contents (the indicators' pattern)
  });
});

describe('metrics settings (issue 5)', () => {
  it('serves /metrics on METRICS_PORT only, without TAXII auth, and aggregates labels per API root when asked', async () => {
    const port = String(await freePort());
    const s = await startServer(STATE, { env: { METRICS_PORT: port, METRICS_PER_COLLECTION: 'false', METRICS_PER_PRINCIPAL: 'false' } });
    try {
      await client(s.url, basic('alice')).get(`/tenant-a/collections/${RW}/objects/`);
      expect((await fetch(`${s.url}/metrics`)).status).toBe(404);
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(text).toContain('taxiway_pages_served_total{api_root="tenant-a",collection="*",endpoint="objects"} 1');
      expect(text).toContain('taxiway_consumer_last_poll_timestamp_seconds{api_root="tenant-a",principal="*"}');
      expect(text).not.toContain('principal="alice"');
    } finally {
      await s.close();
    }
  });

  it('never serves /metrics anonymously on the TAXII port; there only to METRICS_TOKEN as a bearer token (issue 11)', async () => {
    const byDefault = await startServer(STATE);
    const token = 'metrics-token-0123456789';
    const withToken = await startServer(STATE, { env: { METRICS_TOKEN: token, METRICS_PORT: '0' } });
    try {
      for (const auth of [undefined, basic('alice'), `Bearer ${token}`]) {
        const r = await fetch(`${byDefault.url}/metrics`, { headers: auth === undefined ? {} : { authorization: auth } });
        expect(r.status).toBe(404);
        expect(await r.text()).not.toContain('tenant-a');
      }
      expect((await fetch(byDefault.server.metricsUrl())).status).toBe(200);

      for (const auth of [undefined, basic('alice'), 'Bearer wrong-token-0123456789', `Bearer ${token}x`]) {
        const r = await fetch(`${withToken.url}/metrics`, { headers: auth === undefined ? {} : { authorization: auth } });
        expect(r.status, String(auth)).toBe(401);
        expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
        expect(await r.text()).not.toContain('tenant-a');
      }
      const ok = await fetch(`${withToken.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain('taxiway_http_requests_total');
      expect(withToken.server.metricsUrl()).toBe('');
    } finally {
      await byDefault.close();
      await withToken.close();
    }
  });

  it('answers not-ready during the shutdown delay while still serving, then closes', async () => {
    const s = await startServer(STATE, { env: { SHUTDOWN_DELAY_SECONDS: '1' } });
    const closing = s.close();
    await new Promise((r) => setTimeout(r, 200));
    const ready = await fetch(`${s.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: Record<string, boolean> }).checks['accepting']).toBe(false);
    expect((await client(s.url, basic('alice')).get('/tenant-a/')).status).toBe(200);
    await closing;
    await expect(fetch(`${s.url}/healthz`)).rejects.toThrow();
  });
});
