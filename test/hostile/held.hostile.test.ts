import { randomUUID } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { indicator, RW, STATE } from '../../apps/api/test/fixture';
import { basic, client, startServer, type BackendName, type RunningServer } from '../support/server';
import { NS11, post, status } from '../support/taxii1';

// Depth: hostile input (issue 12): attacks that already hold, kept as regression tests that assert
// the answer and what it cost (time, CPU, event-loop lag, memory).

/** Runs `f`, measuring wall time, this process's CPU, event-loop lag p99 and RSS growth. */
async function cost<T>(f: () => Promise<T>): Promise<{ r: T; ms: number; cpuMs: number; lagP99Ms: number; rssMiB: number }> {
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const rss0 = process.memoryUsage().rss;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await f();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  lag.disable();
  return { r, ms, cpuMs: (cpu.user + cpu.system) / 1000, lagP99Ms: lag.percentile(99) / 1e6, rssMiB: (process.memoryUsage().rss - rss0) / 1024 / 1024 };
}

describe.each<BackendName>(['postgresql', 'pglite'])('attacks that hold stay cheap (%s)', (backend) => {
  let s: RunningServer;
  beforeAll(async () => {
    s = await startServer(STATE, { backend });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('refuses DTDs (billion laughs, XXE, external DTD) in milliseconds, before any expansion', async () => {
    const docs = [
      `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]><taxii_11:Discovery_Request xmlns:taxii_11="${NS11}" message_id="1">&lol9;</taxii_11:Discovery_Request>`,
      `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><taxii_11:Discovery_Request xmlns:taxii_11="${NS11}" message_id="1">&x;</taxii_11:Discovery_Request>`,
      `<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://127.0.0.1:1/evil.dtd"><taxii_11:Discovery_Request xmlns:taxii_11="${NS11}" message_id="1"/>`,
    ];
    for (const doc of docs) {
      const c = await cost(() => post(s.url, '/taxii1/tenant-a/discovery/', doc, { auth: basic('alice') }));
      expect(status(c.r).type).toBe('BAD_MESSAGE');
      expect(c.r.text).not.toContain('root:');
      expect(c.ms).toBeLessThan(500);
      expect(c.rssMiB).toBeLessThan(50);
    }
  });

  it('refuses prototype-poisoning keys in an envelope (400) and stores nothing', async () => {
    const id = `indicator--${randomUUID()}`;
    for (const body of [
      `{"__proto__": {"polluted": 1}, "objects": [${JSON.stringify(indicator(id))}]}`,
      `{"objects": [${JSON.stringify(indicator(id)).slice(0, -1)}, "constructor": {"prototype": {"polluted": 1}}}]}`,
    ]) {
      const c = await cost(() => client(s.url, basic('alice')).post(`/tenant-a/collections/${RW}/objects/`, body));
      expect(c.r.status).toBe(400);
      expect(c.ms).toBeLessThan(500);
    }
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect((await client(s.url, basic('alice')).get(`/tenant-a/collections/${RW}/objects/${id}/`)).status).toBe(404);
  });

  it('refuses tampered, foreign and oversized next tokens with 400, cheaply', async () => {
    const alice = client(s.url, basic('alice'));
    await alice.post(`/tenant-a/collections/${RW}/objects/`, { objects: [indicator(`indicator--${randomUUID()}`), indicator(`indicator--${randomUUID()}`)] });
    const page = await alice.get(`/tenant-a/collections/${RW}/objects/?limit=1`);
    const next = String(page.json['next']);
    const flipped = `${next.slice(0, -2)}${next.endsWith('A') ? 'B' : 'A'}${next.slice(-1)}`;
    for (const token of [flipped, 'not-a-token', 'A'.repeat(10_000), `${next}${next}`]) {
      const c = await cost(() => alice.get(`/tenant-a/collections/${RW}/objects/?next=${encodeURIComponent(token)}`));
      expect(c.r.status, token.slice(0, 20)).toBe(400);
      expect(c.r.json['error_code']).toBe('InvalidCursor');
      expect(c.ms).toBeLessThan(500);
    }
    // A request line past the header bound is refused by the HTTP layer, still as a TAXII error.
    const huge = await alice.get(`/tenant-a/collections/${RW}/objects/?next=${'A'.repeat(100_000)}`);
    expect(huge.status).toBe(431);
    expect(huge.json['http_status']).toBe('431');
    // Someone else's token is refused too: it is bound to its principal.
    const bob = await client(s.url, basic('bob')).get(`/tenant-a/collections/${RW}/objects/?next=${encodeURIComponent(next)}`);
    expect(bob.status).toBe(400);
  });

  it('answers a flood of small requests without stalling the event loop', async () => {
    const alice = client(s.url, basic('alice'));
    const c = await cost(() =>
      Promise.all(Array.from({ length: 400 }, (_, i) => alice.get(i % 2 === 0 ? '/taxii2/' : `/tenant-a/collections/${RW}/manifest/?limit=5`))),
    );
    expect(c.r.every((r) => r.status === 200)).toBe(true);
    expect(c.lagP99Ms).toBeLessThan(200);
  });
});
