import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { largeEnvelope, whileProbing, type Probe } from '@taxiway/testing';
import { RW } from '../../apps/api/test/fixture';
import { basic, startServer, type BackendName, type RunningServer } from '../support/server';
import { BIG_COLL, HOSTILE_STATE } from './fixture';

// Depth: hostile input (issue 12): the largest allowed envelope (100 MiB, as one huge object and as
// 150,000 small ones, past the default cap of 100,000, which is raised here) is processed while everyone else is served: the event loop is never held
// (lag p99 < 50 ms), /healthz and another tenant's small GET answer in < 100 ms p99, time grows
// linearly with size, and memory stays within a bounded multiple of the body (README, Limits).

const TAXII = 'application/taxii+json;version=2.1';

/** A body of about `mib` MiB (libs/testing): realistic STIX objects, or one indicator with a huge description. */
function envelope(shape: 'one object' | 'many small', mib: number): { body: Buffer; objects: number } {
  const e = largeEnvelope(shape, mib, 11);
  return { body: Buffer.from(e.body), objects: e.objects };
}

const p99 = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil(xs.length * 0.99) - 1)] ?? 0;

interface Run {
  readonly status: number;
  readonly successCount: number | undefined;
  readonly seconds: number;
  readonly lagP99Ms: number;
  readonly healthP99Ms: number;
  readonly otherP99Ms: number;
  readonly rssGrowthPerByte: number;
}

/** POSTs the body to the big collection while probing; the server runs in this process, so the lag is its lag. */
async function ingest(s: RunningServer, body: Buffer): Promise<Run> {
  const rss0 = process.memoryUsage().rss;
  let rssPeak = rss0;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 50);
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const probes: Probe[] = [
    { url: `${s.url}/healthz`, headers: {} },
    { url: `${s.url}/tenant-a/collections/${RW}/objects/?limit=1`, headers: { authorization: basic('alice'), accept: TAXII } },
  ];
  const { result, seconds, latencies } = await whileProbing(probes, async () => {
    const r = await fetch(`${s.url}/big/collections/${BIG_COLL}/objects/`, {
      method: 'POST',
      headers: { authorization: basic('alice'), accept: TAXII, 'content-type': TAXII },
      body,
    });
    return { res: r, answer: (await r.json()) as { success_count?: number } };
  });
  const { res, answer } = result;
  const [h = [], o = []] = latencies;
  lag.disable();
  clearInterval(sampler);
  return {
    status: res.status,
    successCount: answer.success_count,
    seconds,
    lagP99Ms: lag.percentile(99) / 1e6,
    healthP99Ms: p99(h),
    otherP99Ms: p99(o),
    rssGrowthPerByte: (rssPeak - rss0) / body.length,
  };
}

const SERVER_ENV = { DB_STATEMENT_TIMEOUT_SECONDS: '600', HTTP_REQUEST_TIMEOUT_SECONDS: '1800', MAX_OBJECTS_PER_ENVELOPE: '200000' };

describe.each<BackendName>(['postgresql', 'pglite'])('a 100 MiB envelope holds nobody up (%s)', (backend) => {
  let s: RunningServer;
  beforeAll(async () => {
    s = await startServer(HOSTILE_STATE, { backend, env: SERVER_ENV });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('stores 100 MiB as one object with event-loop lag p99 < 50 ms and /healthz p99 < 100 ms', async () => {
    const { body, objects } = envelope('one object', 100);
    checkHeldNobody(backend, await ingest(s, body), objects);
  }, 300_000);

  it('stores 100 MiB of small objects likewise, in about 10× the time of 10 MiB', async () => {
    const r10 = await ingest(s, envelope('many small', 10).body);
    const { body, objects } = envelope('many small', 100);
    const r100 = await ingest(s, body);
    checkHeldNobody(backend, r100, objects);
    expect(r10.status).toBe(202);
    // About 10× on PostgreSQL (bench: 8.5–10×); PGlite's in-process heap and table grow with it (bench: 9.8×, up to 15× seen here).
    const bound = backend === 'postgresql' ? 15 : 20;
    expect(r100.seconds / r10.seconds, `10 MiB: ${r10.seconds.toFixed(1)} s, 100 MiB: ${r100.seconds.toFixed(1)} s`).toBeLessThan(bound);
  }, 300_000);
});

function checkHeldNobody(backend: BackendName, r: Run, objects: number): void {
  expect(r.status).toBe(202);
  expect(r.successCount).toBe(objects);
  expect(r.lagP99Ms).toBeLessThan(50);
  expect(r.healthP99Ms).toBeLessThan(100);
  // Another tenant's reads need the database: PostgreSQL serves them beside the ingest, while the
  // embedded PGlite executes one transaction at a time (README, Limits).
  if (backend === 'postgresql') expect(r.otherP99Ms).toBeLessThan(100);
  // The server and this test share the process: the test's own copies of the body are counted too.
  expect(r.rssGrowthPerByte).toBeLessThan(16);
}
