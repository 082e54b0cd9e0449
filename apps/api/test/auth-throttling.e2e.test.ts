import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { issueApiKey } from '@taxiway/auth';
import type { DesiredState } from '@taxiway/domain';
import { SqlAdminStore } from '@taxiway/store';
import { discovery, post, status } from '../../../test/support/taxii1';
import { basic, principal, startServer, TAXII, type RunningServer } from '../../../test/support/server';
import { RW, STATE } from './fixture';

// Depth: API e2e (real server, real PostgreSQL, real sockets from distinct loopback addresses).

const DEMO: DesiredState = {
  ...STATE,
  apiRoots: STATE.apiRoots.map((r) => (r.name === 'tenant-a' ? { ...r, grants: [{ principal: 'demo', role: 'write' as const }] } : r)),
  principals: [...STATE.principals, principal('demo'), principal('newcomer')],
};

/** A client whose connections come from `address` (any 127.0.0.0/8 address reaches the server on Linux). */
function from(address: string) {
  const dispatcher = new Agent({ localAddress: address, connections: 64 });
  const get = async (base: string, path: string, auth: string | undefined, headers: Record<string, string> = {}) => {
    const r = await undiciFetch(base + path, {
      dispatcher,
      headers: { accept: TAXII, ...(auth !== undefined && { authorization: auth }), ...headers },
    });
    const text = await r.text();
    return { status: r.status, headers: r.headers, text };
  };
  return { get, close: () => dispatcher.close() };
}

/** Samples of the server's auth counters. */
async function attempts(s: RunningServer): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const m of (await s.server.metricsText()).matchAll(/^taxiway_auth_attempts_total\{method="([^"]+)",result="([^"]+)"\} (\d+)/gm)) {
    out[`${m[1]}/${m[2]}`] = Number(m[3]);
  }
  return out;
}
/** Slow (argon2) hashes the server ran. */
async function hashes(s: RunningServer): Promise<number> {
  return Number(/^taxiway_auth_hashes_total (\d+)/m.exec(await s.server.metricsText())?.[1] ?? NaN);
}

describe('authentication throttling that protects without locking anyone out (issue 11)', () => {
  const servers: RunningServer[] = [];
  const start = async (env: Record<string, string> = {}, state = DEMO) => {
    const s = await startServer(state, { env });
    servers.push(s);
    return s;
  };
  const clients: ReturnType<typeof from>[] = [];
  const client = (address: string) => {
    const c = from(address);
    clients.push(c);
    return c;
  };
  afterAll(async () => {
    for (const c of clients) await c.close();
    for (const s of servers) await s.close();
  });

  it('lets demo in from another address at once after 1,000 wrong passwords from A, and from A once the bucket refills', async () => {
    const s = await start();
    const a = client('127.0.0.1');
    const b = client('127.0.0.2');
    const codes = new Map<number, number>();
    const t0 = performance.now();
    for (let i = 0; i < 1000; i += 50) {
      const batch = await Promise.all(Array.from({ length: 50 }, (_, j) => a.get(s.url, '/taxii2/', basic('demo', `guess-${i + j}`))));
      for (const r of batch) codes.set(r.status, (codes.get(r.status) ?? 0) + 1);
    }
    const floodMs = performance.now() - t0;
    // Ten guesses were checked (per address and user, per minute); the rest were refused before any hashing.
    expect(codes.get(401)).toBe(10);
    expect(codes.get(429)).toBe(990);
    expect(await hashes(s)).toBe(10);
    expect(floodMs).toBeLessThan(10_000);

    const fromA = await a.get(s.url, '/taxii2/', basic('newcomer'));
    expect(fromA.status, "another user from the same address is not refused by demo's failures").toBe(200);
    // demo never verified here: from A its right password waits for the bucket…
    const throttled = await a.get(s.url, '/taxii2/', basic('demo'));
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('content-type')).toBe(TAXII);
    expect(Number(throttled.headers.get('retry-after'))).toBeLessThanOrEqual(6);

    // …but from B it is let in at once, and once verified it is let in from A too.
    const t1 = performance.now();
    const fromB = await b.get(s.url, '/taxii2/', basic('demo'));
    expect(fromB.status).toBe(200);
    expect(performance.now() - t1).toBeLessThan(1000);
    expect((await a.get(s.url, '/taxii2/', basic('demo'))).status).toBe(200);

    // A user never verified on this replica, from the failing pair, gets in within the refill time.
    for (let i = 0; i < 10; i++) expect((await a.get(s.url, '/taxii2/', basic('alice', `guess-${i}`))).status).toBe(401);
    const waiting = await a.get(s.url, '/taxii2/', basic('alice'));
    expect(waiting.status).toBe(429);
    const wait = Number(waiting.headers.get('retry-after'));
    expect(wait).toBeGreaterThanOrEqual(1);
    expect(wait).toBeLessThanOrEqual(6);
    await new Promise((r) => setTimeout(r, wait * 1000));
    expect((await a.get(s.url, '/taxii2/', basic('alice'))).status).toBe(200);
  });

  it('never refuses a credential that verified recently, however many guesses follow from the same address', async () => {
    const s = await start({ AUTH_CACHE_SECONDS: '1' });
    const a = client('127.0.0.3');
    expect((await a.get(s.url, '/taxii2/', basic('demo'))).status).toBe(200);
    for (let i = 0; i < 100; i++) await a.get(s.url, '/taxii2/', basic('demo', `guess-${i}`));
    expect((await a.get(s.url, '/taxii2/', basic('demo', 'guess-x'))).status).toBe(429);
    // The cache entry (1 s) has expired: the right password is hashed again, but not throttled.
    await new Promise((r) => setTimeout(r, 1100));
    expect((await a.get(s.url, '/taxii2/', basic('demo'))).status).toBe(200);
  });

  it('slows a flood across usernames from one address, with bounded CPU, event-loop lag and no wait for a legitimate first login', async () => {
    const s = await start();
    const attacker = client('127.0.0.4');
    const honest = client('127.0.0.5');
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const flood = (async () => {
      for (let i = 0; i < 2000; i += 100) {
        await Promise.all(Array.from({ length: 100 }, (_, j) => attacker.get(s.url, '/taxii2/', basic(`user-${i + j}`, 'x'))));
      }
    })();
    await new Promise((r) => setTimeout(r, 200));
    const t1 = performance.now();
    const login = await honest.get(s.url, '/taxii2/', basic('newcomer'));
    const loginMs = performance.now() - t1;
    await flood;
    const cpu = process.cpuUsage(cpu0);
    const wall = performance.now() - t0;
    lag.disable();
    expect(login.status).toBe(200);
    expect(loginMs).toBeLessThan(1000);
    // 30 failures per minute per address: about 30 slow hashes, not 2,000.
    expect(await hashes(s)).toBeLessThanOrEqual(32);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    expect(cpuSeconds).toBeLessThan(Math.max(4, (wall / 1000) * 1.5));
    expect(lag.percentile(99) / 1e6).toBeLessThan(200);
  });

  it('keeps the hash budget for the replica: excess attempts get 429 before any hashing', async () => {
    const s = await start({ AUTH_HASHES_PER_SECOND: '5' });
    const codes = await Promise.all(Array.from({ length: 60 }, (_, i) => client(`127.0.1.${i + 1}`).get(s.url, '/taxii2/', basic(`nobody-${i}`, 'x'))));
    const counts = codes.reduce<Record<number, number>>((m, r) => ({ ...m, [r.status]: (m[r.status] ?? 0) + 1 }), {});
    expect(counts[401]).toBeLessThanOrEqual(12);
    expect(counts[429]).toBeGreaterThanOrEqual(48);
    expect((await attempts(s))['password/busy']).toBe(counts[429]);
  });

  it('counts clients behind a trusted proxy apart, and ignores X-Forwarded-For from an untrusted peer', async () => {
    const s = await start({ TRUSTED_PROXIES: '127.0.0.1' });
    const proxy = client('127.0.0.1');
    const untrusted = client('127.0.0.6');
    for (let i = 0; i < 12; i++) await proxy.get(s.url, '/taxii2/', basic('demo', `g${i}`), { 'x-forwarded-for': '198.51.100.1' });
    expect((await proxy.get(s.url, '/taxii2/', basic('demo'), { 'x-forwarded-for': '198.51.100.1' })).status).toBe(429);
    expect((await proxy.get(s.url, '/taxii2/', basic('demo'), { 'x-forwarded-for': '198.51.100.2' })).status).toBe(200);
    expect((await proxy.get(s.url, '/taxii2/', basic('demo'), { forwarded: 'for=198.51.100.3' })).status).toBe(200);

    // A peer outside TRUSTED_PROXIES cannot pick a fresh address per request.
    const forged = [];
    for (let i = 0; i < 12; i++)
      forged.push((await untrusted.get(s.url, '/taxii2/', basic('newcomer', `g${i}`), { 'x-forwarded-for': `203.0.113.${i}` })).status);
    expect(forged.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(forged.slice(10)).toEqual([429, 429]);
  });

  it('answers a repeated stale password with 401 without hashing again, so it never throttles the user', async () => {
    const s = await start();
    const siem = client('127.0.0.7');
    for (let i = 0; i < 200; i++) expect((await siem.get(s.url, '/taxii2/', basic('demo', 'last-years-password'))).status).toBe(401);
    expect(await hashes(s)).toBe(1);
    expect((await attempts(s))['password/rejected']).toBe(200);
    expect((await siem.get(s.url, '/taxii2/', basic('demo'))).status).toBe(200);
  });

  it('passes a black-box run of every authentication failure case followed by normal traffic, with the defaults', async () => {
    const s = await start();
    const suite = client('127.0.0.8');
    const key = await issueApiKey();
    await new SqlAdminStore(s.server.database.dataSource).insertApiKey({ id: key.id, principal: 'demo', secretHash: key.secretHash });
    await s.server.catalog.reload();
    const failures: [string, string | undefined][] = [
      ['no credentials', undefined],
      ['wrong password', basic('demo', 'wrong')],
      ['empty password', basic('demo', '')],
      ['unknown user', basic('nobody', 'demo-pw')],
      ['malformed Basic', 'Basic !!!'],
      ['Basic without colon', `Basic ${Buffer.from('demo').toString('base64')}`],
      ['unknown scheme', 'Digest username="demo"'],
      ['unknown API key', `Bearer txw_zzzzzzzzzzzz_${'A'.repeat(43)}`],
      ['wrong secret for a real key id', `Bearer ${key.key.slice(0, 17)}${'B'.repeat(43)}`],
      ['malformed key', 'Token txw_short'],
      ['forged JWT', 'Bearer aaaa.bbbb.cccc'],
    ];
    for (let round = 0; round < 5; round++) {
      for (const [name, auth] of failures) {
        for (const path of ['/taxii2/', '/tenant-a/', `/tenant-a/collections/${RW}/objects/`]) {
          const r = await suite.get(s.url, path, auth);
          expect(r.status, `${name} on ${path}`).toBe(401);
        }
      }
    }
    for (const path of ['/taxii2/', '/tenant-a/', '/tenant-a/collections/', `/tenant-a/collections/${RW}/objects/`]) {
      expect((await suite.get(s.url, path, basic('demo'))).status, path).toBe(200);
      expect((await suite.get(s.url, path, `Bearer ${key.key}`)).status, path).toBe(200);
    }
  });
});

describe('the verification cache and login tokens follow credential changes (issue 11)', () => {
  const servers: RunningServer[] = [];
  afterAll(async () => {
    for (const s of servers) await s.close();
  });

  it('honours AUTH_CACHE_SECONDS across catalogue reloads, and drops only the changed principal on every replica', async () => {
    const a = await startServer(DEMO, { env: { AUTH_CACHE_SECONDS: '600' } });
    servers.push(a);
    const b = await startServer(DEMO, { env: { AUTH_CACHE_SECONDS: '600', DATABASE_URL: a.server.database.url } });
    servers.push(b);
    const get = (s: RunningServer, user: string, password = `${user}-pw`) =>
      fetch(`${s.url}/taxii2/`, { headers: { accept: TAXII, authorization: basic(user, password) } }).then((r) => r.status);
    for (const s of [a, b]) {
      expect(await get(s, 'alice')).toBe(200);
      expect(await get(s, 'bob')).toBe(200);
    }
    const before = await hashes(b);
    // What the 30 s periodic reload does: it must not flush the cache.
    await a.server.catalog.reload();
    await b.server.catalog.reload();
    for (const s of [a, b]) {
      expect(await get(s, 'alice')).toBe(200);
      expect(await get(s, 'bob')).toBe(200);
    }
    expect(await hashes(b)).toBe(before);

    // alice's password changes on replica a; replica b hears of it through NOTIFY.
    await a.server.apply({ ...DEMO, principals: DEMO.principals.map((p) => (p.name === 'alice' ? principal('alice', 'new-pw') : p)) });
    const t0 = Date.now();
    while ((await get(b, 'alice')) === 200 && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 50));
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(await get(b, 'alice')).toBe(401);
    expect(await get(b, 'alice', 'new-pw')).toBe(200);
    const after = await hashes(b);
    expect(await get(b, 'bob')).toBe(200);
    expect(await hashes(b), "bob's entry survived").toBe(after);
  });

  it('stops honouring a TAXII 1.x login token when the password changes or the principal is removed', async () => {
    const s = await startServer(DEMO);
    servers.push(s);
    const login = async () => {
      const r = await fetch(`${s.url}/taxii1/auth`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'demo', password: 'demo-pw' }),
      });
      return ((await r.json()) as { token: string }).token;
    };
    const use = async (token: string) => status(await post(s.url, '/taxii1/tenant-a/discovery/', discovery(), { auth: `Bearer ${token}` })).type;
    const token = await login();
    expect((await post(s.url, '/taxii1/tenant-a/discovery/', discovery(), { auth: `Bearer ${token}` })).root?.local).toBe('Discovery_Response');
    // The same token over TAXII 2.1: one pipeline, one set of credential forms.
    expect((await fetch(`${s.url}/taxii2/`, { headers: { accept: TAXII, authorization: `Bearer ${token}` } })).status).toBe(200);

    await s.server.apply({ ...DEMO, principals: DEMO.principals.map((p) => (p.name === 'demo' ? principal('demo', 'rotated') : p)) });
    expect(await use(token)).toBe('UNAUTHORIZED');

    await s.server.apply(DEMO);
    const again = await login();
    expect((await post(s.url, '/taxii1/tenant-a/discovery/', discovery(), { auth: `Bearer ${again}` })).root?.local).toBe('Discovery_Response');
    await s.server.apply({ ...DEMO, apiRoots: STATE.apiRoots, principals: DEMO.principals.filter((p) => p.name !== 'demo') });
    expect(await use(again)).toBe('UNAUTHORIZED');
  });
});
