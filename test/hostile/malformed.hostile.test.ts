import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@taxiway/config';
import { transportWarning } from '../../apps/api/src/server';
import { indicator, RW, STATE } from '../../apps/api/test/fixture';
import { rawRequest } from '../support/raw-http';
import { basic, client, startServer, TAXII, type BackendName, type RunningServer } from '../support/server';

// Depth: hostile input (issue 12): malformed input is a clear per-request or per-object error, never a 500.

describe.each<BackendName>(['postgresql', 'pglite'])('malformed input gets a clear answer, never a 500 (%s)', (backend) => {
  let s: RunningServer;
  beforeAll(async () => {
    s = await startServer(STATE, { backend });
  });
  afterAll(async () => {
    await s?.close();
  });
  const alice = () => client(s.url, basic('alice'));
  const objectsPath = `/tenant-a/collections/${RW}/objects/`;

  it('refuses per object what cannot be stored (deep nesting, NUL in a value, a key or the id) and stores the rest', async () => {
    const good = `indicator--${randomUUID()}`;
    const deep = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
    const body = `{"objects":[${JSON.stringify(indicator(good))},
      ${JSON.stringify(indicator(`indicator--${randomUUID()}`)).slice(0, -1)},"x_deep":${deep}},
      ${JSON.stringify(indicator(`indicator--${randomUUID()}`, undefined, { description: 'a\u0000b' }))},
      ${JSON.stringify(indicator(`indicator--${randomUUID()}`, undefined, { 'x_\u0000key': 1 }))},
      {"type":"indicator","id":"indicator--${randomUUID().slice(0, -1)}\\u0000"}]}`;
    const t0 = performance.now();
    const r = await alice().post(objectsPath, body);
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(r.status).toBe(202);
    expect(r.json).toMatchObject({ success_count: 1, failure_count: 4 });
    const messages = (r.json['failures'] as { message: string; id: string }[]).map((f) => f.message);
    expect(messages).toEqual(
      expect.arrayContaining([
        'nests deeper than 64 levels',
        'contains U+0000 (NUL), which cannot be stored',
        'contains U+0000 (NUL), which cannot be stored',
        expect.stringMatching(/malformed "id"/),
      ]),
    );
    expect(JSON.stringify(r.json)).not.toContain('\\u0000');
    expect((await alice().get(`${objectsPath}${good}/`)).status).toBe(200);
  });

  it('answers 400 for a body that is not valid UTF-8, storing nothing', async () => {
    const id = `indicator--${randomUUID()}`;
    const text = JSON.stringify({ objects: [indicator(id, undefined, { description: 'MARK' })] });
    const [head, tail] = text.split('MARK');
    const r = await fetch(`${s.url}${objectsPath}`, {
      method: 'POST',
      headers: { authorization: basic('alice'), 'content-type': TAXII, accept: TAXII },
      body: Buffer.concat([Buffer.from(head!), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(tail!)]),
    });
    expect(r.status).toBe(400);
    expect(await r.json()).toMatchObject({ error_code: 'BadRequest', description: 'The request body is not valid UTF-8' });
    expect((await alice().get(`${objectsPath}${id}/`)).status).toBe(404);
  });

  it('answers paths with a NUL, bad escapes or long ids as TAXII errors', async () => {
    const cases: [string, number][] = [
      [`${objectsPath}indicator--%00/`, 404],
      [`${objectsPath}indicator--%00/versions/`, 404],
      [`/tenant-a/collections/${RW}%00/objects/`, 404],
      [`${objectsPath}%FF/`, 400],
      [`${objectsPath}${'a'.repeat(400)}/`, 404],
      [`${objectsPath}${'a'.repeat(600)}/`, 414],
    ];
    for (const [path, code] of cases) {
      const r = await alice().get(path);
      expect(r.status, path.slice(0, 90)).toBe(code);
      expect(r.headers.get('content-type')).toBe(TAXII);
      expect(r.json['http_status']).toBe(String(code));
    }
  });

  it('keeps long STIX ids addressable: the longest type the grammar allows round-trips', async () => {
    const type = `x-${'a'.repeat(246)}`;
    const id = `${type}--${randomUUID()}`;
    const obj = { type, spec_version: '2.1', id, created: '2020-01-01T00:00:00.000Z', modified: '2020-01-01T00:00:00.000Z' };
    expect((await alice().post(objectsPath, { objects: [obj] })).json).toMatchObject({ success_count: 1 });
    expect((await alice().get(`${objectsPath}${id}/`)).status).toBe(200);
  });

  it('renders what the HTTP parser refuses (431, malformed requests) as TAXII errors, and requires auth under /healthz/…', async () => {
    const big = await rawRequest(s.url, { method: 'GET', path: '/taxii2/', headers: { 'x-big': 'a'.repeat(40_000) }, timeoutMs: 5000 });
    expect(big.status).toBe(431);
    expect(big.headers['content-type']).toBe(TAXII);
    expect(JSON.parse(big.body)).toMatchObject({ http_status: '431' });
    const junk = await rawRequest(s.url, { method: 'GET', path: '/taxii2/ HTTP/9.9\r\nx', headers: {}, timeoutMs: 5000 });
    expect(junk.status).toBe(400);
    expect(junk.headers['content-type']).toBe(TAXII);
    for (const p of ['/healthz/x', '/readyz/x', '/metrics/x']) expect((await fetch(`${s.url}${p}`)).status, p).toBe(401);
    expect((await fetch(`${s.url}/healthz/`)).status).toBe(200);
  });
});

describe('TLS honesty (issue 12)', () => {
  it('advertises https by default when TLS ends at the server', () => {
    const config = loadConfig({ TLS_CERT_FILE: '/c.pem', TLS_KEY_FILE: '/k.pem', PORT: '8443' }, []);
    expect(config.publicBaseUrl).toBe('https://localhost:8443');
    expect(loadConfig({ PORT: '8080' }, []).publicBaseUrl).toBe('http://localhost:8080');
  });

  it('warns at start when credentials could travel in clear text', () => {
    expect(transportWarning(loadConfig({ HOST: '0.0.0.0' }, []))).toMatch(/clear text/);
    expect(transportWarning(loadConfig({ HOST: '0.0.0.0', TRUSTED_PROXIES: '10.0.0.0/8' }, []))).toBeUndefined();
    expect(transportWarning(loadConfig({ HOST: '127.0.0.1' }, []))).toBeUndefined();
    expect(transportWarning(loadConfig({ HOST: '0.0.0.0', TLS_CERT_FILE: '/c', TLS_KEY_FILE: '/k' }, []))).toBeUndefined();
  });
});
