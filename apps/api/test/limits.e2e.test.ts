import { afterAll, describe, expect, it } from 'vitest';
import type { DesiredState } from '@taxiway/domain';
import { basic, client, principal, startServer, TAXII, type RunningServer } from '../../../test/support/server';
import { STATE } from './fixture';

const WITH_LIMITED: DesiredState = {
  ...STATE,
  apiRoots: STATE.apiRoots.map((r) => (r.name === 'tenant-a' ? { ...r, grants: [...r.grants, { principal: 'limited', role: 'read' as const }] } : r)),
  principals: [...STATE.principals, { ...principal('limited'), rateLimit: { perSecond: 2, burst: 3 } }],
};

describe('request and authentication limits (issue 3)', () => {
  const servers: RunningServer[] = [];
  const start = async (env: Record<string, string> = {}) => {
    const s = await startServer(WITH_LIMITED, { env });
    servers.push(s);
    return s;
  };
  afterAll(async () => {
    for (const s of servers) await s.close();
  });

  it('answers 429 with Retry-After and a TAXII error once a principal exceeds its own rate; others are unaffected', async () => {
    const s = await start();
    const limited = client(s.url, basic('limited'));
    const codes: number[] = [];
    for (let i = 0; i < 4; i++) codes.push((await limited.get('/tenant-a/')).status);
    expect(codes).toEqual([200, 200, 200, 429]);
    const r = await limited.get('/tenant-a/');
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toBe('1');
    expect(r.headers.get('content-type')).toBe(TAXII);
    expect(r.json).toMatchObject({ http_status: '429', error_code: 'TooManyRequests', title: 'Too many requests' });
    for (let i = 0; i < 20; i++) expect((await client(s.url, basic('alice')).get('/tenant-a/')).status).toBe(200);
    await new Promise((res) => setTimeout(res, 600));
    expect((await limited.get('/tenant-a/')).status).toBe(200);
  });

  it('applies RATE_LIMIT_PER_SECOND/RATE_LIMIT_BURST to principals without their own rate', async () => {
    const s = await start({ RATE_LIMIT_PER_SECOND: '1', RATE_LIMIT_BURST: '2' });
    const alice = client(s.url, basic('alice'));
    expect([await alice.get('/tenant-a/'), await alice.get('/tenant-a/'), await alice.get('/tenant-a/')].map((r) => r.status)).toEqual([200, 200, 429]);
  });

  it('throttles a username from one address after repeated failed logins, even with the right password, then lets it in again', async () => {
    const s = await start({ AUTH_FAILURES_PER_MINUTE_PER_USER: '3' });
    // Distinct guesses: the same wrong password repeated counts once (issue 11).
    for (let i = 0; i < 3; i++) expect((await client(s.url, basic('bob', `wrong-${i}`)).get('/taxii2/')).status).toBe(401);
    const blocked = await client(s.url, basic('bob')).get('/taxii2/');
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await client(s.url, basic('alice')).get('/taxii2/')).status).toBe(200);
  });

  it('throttles a source address that fails too often across usernames', async () => {
    const s = await start({ AUTH_FAILURES_PER_MINUTE_PER_ADDRESS: '4' });
    for (const u of ['u1', 'u2', 'u3', 'u4']) expect((await client(s.url, basic(u, 'x')).get('/taxii2/')).status).toBe(401);
    expect((await client(s.url, basic('alice')).get('/taxii2/')).status).toBe(429);
    expect((await client(s.url, undefined).get('/taxii2/')).status).toBe(401);
  });
});
