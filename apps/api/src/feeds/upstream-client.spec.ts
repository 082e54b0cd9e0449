import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  parseRetryAfter,
  scrub,
  Taxii21Upstream,
  type UpstreamAnswer,
  type UpstreamFailure,
  type UpstreamObjects,
  type UpstreamOptions,
} from './upstream-client';
import { makeTestPki } from '@taxiway/testing';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

interface Seen {
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly clientCn?: string;
}

/** A local upstream whose answers each test sets; it records what it was sent. */
class LocalUpstream {
  handler: Handler = (_req, res) => res.end('{}');
  readonly seen: Seen[] = [];
  constructor(
    readonly server: Server | HttpsServer,
    private readonly scheme: 'http' | 'https' = 'http',
  ) {
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const socket = req.socket as Partial<TLSSocket>;
      const cn = socket.getPeerCertificate?.().subject?.CN;
      this.seen.push({ url: req.url ?? '', headers: req.headers, ...(typeof cn === 'string' && { clientCn: cn }) });
      this.handler(req, res);
    });
  }
  async listen(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    const { port } = this.server.address() as AddressInfo;
    return `${this.scheme}://127.0.0.1:${port}`;
  }
  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

const OPEN: UpstreamOptions = { policy: { allowedHosts: [], allowPrivate: true } };
const ID = (n: number): string => `indicator--00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const indicator = (n: number): string =>
  `{"type":"indicator","spec_version":"2.1","id":"${ID(n)}","created":"2025-01-01T00:00:00.000Z","modified":"2025-01-01T00:00:00.000Z","pattern":"[x:y = 'z']","pattern_type":"stix","valid_from":"2025-01-01T00:00:00Z"}`;

const json = (res: ServerResponse, status: number, body: string | Buffer, headers: Record<string, string> = {}): void => {
  res.writeHead(status, { 'content-type': 'application/taxii+json;version=2.1', ...headers });
  res.end(body);
};

function failed(a: UpstreamAnswer): UpstreamFailure {
  if (a.ok) throw new Error('expected a failure');
  return a;
}
function page(a: UpstreamAnswer): UpstreamObjects {
  if (!a.ok) throw new Error(`expected a page, got ${a.kind}: ${a.message}`);
  return a;
}

describe('Taxii21Upstream over HTTP', () => {
  let up: LocalUpstream;
  let base: string;
  let client: Taxii21Upstream | undefined;
  const open = (opts: Partial<UpstreamOptions> = {}, path = '/api1/collections/c1/'): Taxii21Upstream => {
    client = new Taxii21Upstream(`${base}${path}`, { ...OPEN, ...opts });
    return client;
  };

  beforeAll(async () => {
    up = new LocalUpstream(createServer());
    base = await up.listen();
  });
  afterAll(async () => up.close());
  afterEach(async () => {
    await client?.close();
    client = undefined;
    up.seen.length = 0;
  });

  it('sends Get Objects with its query, the TAXII 2.1 Accept header and Basic credentials', async () => {
    up.handler = (_q, res) => json(res, 200, '{"more":false}');
    const c = open({ credentials: { basic: { username: 'feed', password: 's3cret:pw' } } });
    await c.getObjects({ added_after: '2025-01-01T00:00:00.123Z', next: 'abc/def=', limit: 500, matchType: ['indicator', 'malware'] });
    const s = up.seen[0];
    const u = new URL(s?.url ?? '', base);
    expect(u.pathname).toBe('/api1/collections/c1/objects/');
    expect(Object.fromEntries(u.searchParams)).toEqual({
      added_after: '2025-01-01T00:00:00.123Z',
      next: 'abc/def=',
      limit: '500',
      'match[type]': 'indicator,malware',
      'match[version]': 'all',
    });
    expect(s?.headers.accept).toBe('application/taxii+json;version=2.1');
    expect(s?.headers.authorization).toBe(`Basic ${Buffer.from('feed:s3cret:pw').toString('base64')}`);
  });

  it('sends a token as Bearer or Token, and nothing without credentials; only limit and every version when the query has no mark', async () => {
    up.handler = (_q, res) => json(res, 200, '{}');
    await open({ credentials: { token: { scheme: 'Bearer', value: 'tok-1' } } }).getObjects({ limit: 10 });
    await client?.close();
    await open({ credentials: { token: { scheme: 'Token', value: 'tok-2' } } }).getObjects({ limit: 10 });
    await client?.close();
    await open().getObjects({ limit: 10 });
    await client?.getObjects({ limit: 10, matchVersion: 'last' });
    await client?.getObjects({ limit: 10, matchVersion: '' });
    expect(up.seen.map((s) => s.headers.authorization)).toEqual(['Bearer tok-1', 'Token tok-2', undefined, undefined, undefined]);
    expect(up.seen.slice(2).map((s) => s.url)).toEqual([
      '/api1/collections/c1/objects/?limit=10&match%5Bversion%5D=all',
      '/api1/collections/c1/objects/?limit=10&match%5Bversion%5D=last',
      '/api1/collections/c1/objects/?limit=10',
    ]);
  });

  it('refuses Basic credentials and a token together, and a URL carrying userinfo, without echoing them', () => {
    expect(
      () => new Taxii21Upstream(`${base}/c/`, { ...OPEN, credentials: { basic: { username: 'u', password: 'p' }, token: { scheme: 'Bearer', value: 't' } } }),
    ).toThrow(/not both/);
    let message = '';
    try {
      new Taxii21Upstream('http://feed:hunter2@127.0.0.1:1/c/', OPEN);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/carries credentials/);
    expect(message).not.toMatch(/hunter2|feed:/);
  });

  it('returns each object as the exact text the upstream sent: spacing, key order and escapes kept', async () => {
    const odd = [
      `{ "id" : "${ID(1)}",\n\t"type":"indicator", "spec_version": "2.1", "created":"2025-01-01T00:00:00Z", "modified" :"2025-01-01T00:00:00Z", "name": "caf\\u00e9 \\"],[{\\" \\\\", "pattern":"[x:y = 'z']","pattern_type":"stix","valid_from":"2025-01-01T00:00:00Z" }`,
      `{"valid_from":"2025-01-01T00:00:00Z","pattern_type":"stix","pattern":"[a:b = ']']","labels":["x",{"k":[1,2.50,1e3]}],"modified":"2025-02-01T00:00:00.000001Z","created":"2025-01-01T00:00:00Z","spec_version":"2.1","type":"indicator","id":"${ID(2)}","x_emoji":"\\ud83d\\ude00 😀"}`,
    ];
    up.handler = (_q, res) => json(res, 200, `{"more" : true ,"objects":[  ${odd[0]} ,\r\n${odd[1]}\n], "next":"n2"}`);
    const a = page(await open().getObjects({ limit: 2 }));
    expect(a.objects).toEqual(odd);
    expect(a.page).toEqual({ count: 2, more: true, next: 'n2' });
    expect(a.invalid).toEqual([]);
  });

  it('counts and skips objects that are not valid STIX, returning the rest', async () => {
    const items = [
      indicator(1),
      `{"type":"indicator","spec_version":"2.1"}`,
      '42',
      indicator(2),
      `{"type":"indicator","id":"${ID(3)}","spec_version":"2.0","created":"2025-01-01T00:00:00Z","modified":"2025-01-01T00:00:00Z"}`,
    ];
    up.handler = (_q, res) => json(res, 200, `{"objects":[${items.join(',')}]}`);
    const a = page(await open().getObjects({ limit: 5 }));
    expect(a.page.count).toBe(5);
    expect(a.objects).toEqual([indicator(1), indicator(2)]);
    expect(a.invalid.map((i) => i.index)).toEqual([1, 2, 4]);
    expect(a.invalid[2]).toMatchObject({ id: ID(3), message: expect.stringMatching(/does not accept/) as unknown });
    for (const i of a.invalid) expect(i.message.length).toBeGreaterThan(0);
  });

  it('passes the date headers through as text (millisecond precision kept), absent ones and an absent more left undefined', async () => {
    up.handler = (_q, res) =>
      json(res, 200, `{"objects":[${indicator(1)}]}`, {
        'X-TAXII-Date-Added-First': '2025-03-01T10:00:00.123Z',
        'X-TAXII-Date-Added-Last': '2025-03-01T10:00:00.456Z',
      });
    const a = page(await open().getObjects({ limit: 1 }));
    expect(a.page).toEqual({ count: 1, dateAddedLast: '2025-03-01T10:00:00.456Z' });
    expect(a.dateAddedFirst).toBe('2025-03-01T10:00:00.123Z');
    up.handler = (_q, res) => json(res, 200, '{"more":false,"objects":[]}');
    expect(page(await client!.getObjects({ limit: 1 }))).toEqual({ ok: true, page: { count: 0, more: false }, objects: [], invalid: [] });
    up.handler = (_q, res) => json(res, 200, '{}');
    expect(page(await client!.getObjects({ limit: 1 })).page).toEqual({ count: 0 });
  });

  it("classifies refused credentials as auth, with the upstream's error title", async () => {
    for (const status of [401, 403]) {
      up.handler = (_q, res) => json(res, status, '{"title":"Unauthorized","description":"bad key"}');
      const f = failed(await open().getObjects({ limit: 1 }));
      expect(f).toMatchObject({ kind: 'auth', status });
      expect(f.message).toMatch(/HTTP \d{3}.*Unauthorized — bad key/);
      await client?.close();
    }
  });

  it('classifies 400, 404 and 410 as an expired cursor only when the request carried next', async () => {
    for (const status of [400, 404, 410]) {
      up.handler = (_q, res) => json(res, status, '{"title":"x"}');
      expect(failed(await open().getObjects({ next: 'old', limit: 1 }))).toMatchObject({ kind: 'cursor', status });
      expect(failed(await client!.getObjects({ added_after: '2025-01-01T00:00:00Z', limit: 1 }))).toMatchObject({ kind: 'refused', status });
      await client?.close();
    }
  });

  it('classifies 429 as throttled with Retry-After in seconds or as an HTTP date', async () => {
    up.handler = (_q, res) => json(res, 429, '{}', { 'Retry-After': '7' });
    expect(failed(await open().getObjects({ limit: 1 }))).toMatchObject({ kind: 'throttled', status: 429, retryAfterMs: 7000 });
    const at = new Date(Date.now() + 30_000).toUTCString();
    up.handler = (_q, res) => json(res, 429, '{}', { 'Retry-After': at });
    const f = failed(await client!.getObjects({ limit: 1 }));
    expect(f.retryAfterMs).toBeGreaterThan(25_000);
    expect(f.retryAfterMs).toBeLessThanOrEqual(30_000);
    up.handler = (_q, res) => json(res, 429, '{}');
    expect(failed(await client!.getObjects({ limit: 1 }))).not.toHaveProperty('retryAfterMs');
  });

  it('classifies 5xx, refused connections and answers that are not envelopes as transient; other answers as refused', async () => {
    for (const status of [500, 502, 503]) {
      up.handler = (_q, res) => json(res, status, 'oops');
      expect(failed(await open().getObjects({ limit: 1 }))).toMatchObject({ kind: 'transient', status });
      await client?.close();
    }
    for (const body of ['<html>hi</html>', '[1,2]', '{"objects":[{"a":1} {"b":2}]}', '{"objects":[1,]}', '{"objects":{}}', '{"objects":[']) {
      up.handler = (_q, res) => json(res, 200, body);
      const f = failed(await open().getObjects({ limit: 1 }));
      expect(f.kind).toBe('transient');
      expect(f.message).toMatch(/not a TAXII envelope/);
      await client?.close();
    }
    up.handler = (_q, res) => json(res, 200, Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]));
    expect(failed(await open().getObjects({ limit: 1 }))).toMatchObject({ kind: 'transient' });
    for (const [status, headers] of [
      [406, {}],
      [302, { location: 'http://169.254.169.254/' }],
    ] as const) {
      up.handler = (_q, res) => json(res, status, '', headers);
      expect(failed(await client!.getObjects({ limit: 1 }))).toMatchObject({ kind: 'refused', status });
    }
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((r) => closed.close(() => r()));
    const gone = new Taxii21Upstream(`http://127.0.0.1:${port}/c/`, OPEN);
    expect(failed(await gone.getObjects({ limit: 1 }))).toMatchObject({ kind: 'transient', message: expect.stringMatching(/ECONNREFUSED/) as unknown });
    await gone.close();
  });

  it('refuses a page over the size bound while streaming it, without reading the rest', async () => {
    let written = 0;
    let closedEarly = false;
    up.handler = (_q, res) => {
      res.writeHead(200, { 'content-type': 'application/taxii+json;version=2.1' });
      res.write('{"objects":[');
      const chunk = `${indicator(1)},`.repeat(64);
      const pump = (): void => {
        while (!res.destroyed && written < 200 * 1024 * 1024) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        if (res.destroyed) closedEarly = true;
        else res.end(']}');
      };
      res.on('close', () => (closedEarly = closedEarly || !res.writableFinished));
      pump();
    };
    const f = failed(await open({ maxPageBytes: 1024 * 1024 }).getObjects({ limit: 1 }));
    expect(f).toMatchObject({ kind: 'refused', message: expect.stringMatching(/over the 1048576-byte bound/) as unknown });
    await new Promise((r) => setTimeout(r, 100));
    expect(closedEarly).toBe(true);
    expect(written).toBeLessThan(32 * 1024 * 1024);
  });

  it('refuses a page whose Content-Length announces more than the bound before reading it', async () => {
    up.handler = (_q, res) => {
      res.writeHead(200, { 'content-length': String(10 * 1024 * 1024) });
      res.write('{"objects":[');
    };
    const f = failed(await open({ maxPageBytes: 1024 * 1024 }).getObjects({ limit: 1 }));
    expect(f).toMatchObject({ kind: 'refused', message: expect.stringMatching(/announced a 10485760-byte page/) as unknown });
  });

  it('times out an upstream that does not answer, or does not finish its answer, as transient', async () => {
    up.handler = () => undefined;
    const t0 = Date.now();
    const f = failed(await open({ headersTimeoutMs: 300 }).getObjects({ limit: 1 }));
    expect(f).toMatchObject({ kind: 'transient', message: expect.stringMatching(/did not answer within 300 ms/) as unknown });
    expect(Date.now() - t0).toBeLessThan(5000);
    await client?.close();
    up.handler = (_q, res) => {
      res.writeHead(200, { 'content-type': 'application/taxii+json;version=2.1' });
      res.write('{"objects":[');
      const drip = setInterval(() => (res.destroyed ? clearInterval(drip) : res.write(' ')), 50);
    };
    const g = failed(await open({ bodyTimeoutMs: 400 }).getObjects({ limit: 1 }));
    expect(g).toMatchObject({ kind: 'transient', message: expect.stringMatching(/did not send its answer within 400 ms/) as unknown });
  });

  it('times out a connection whose TLS handshake never completes as a connect timeout', async () => {
    const sockets: Socket[] = [];
    const mute = createTcpServer((sock) => void sockets.push(sock));
    await new Promise<void>((r) => mute.listen(0, '127.0.0.1', r));
    const { port } = mute.address() as AddressInfo;
    const c = new Taxii21Upstream(`https://127.0.0.1:${port}/c/`, { ...OPEN, connectTimeoutMs: 300, headersTimeoutMs: 30_000 });
    const t0 = Date.now();
    const f = failed(await c.getObjects({ limit: 1 }));
    await c.close();
    for (const sock of sockets) sock.destroy();
    await new Promise<void>((r) => mute.close(() => r()));
    expect(f).toMatchObject({
      kind: 'transient',
      message: expect.stringMatching(/^Connecting to https:\/\/127\.0\.0\.1:\d+\/c\/objects\/ timed out$/) as unknown,
    });
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('refuses internal addresses unless the policy allows them: literals before connecting, names at connection time', async () => {
    up.handler = (_q, res) => json(res, 200, '{}');
    const strict: UpstreamOptions = { policy: { allowedHosts: [], allowPrivate: false } };
    const f = failed(await open(strict).getObjects({ limit: 1 }));
    expect(f).toMatchObject({
      kind: 'refused',
      message: expect.stringMatching(/address policy refuses http:\/\/127\.0\.0\.1:\d+\/api1\/collections\/c1\/objects\/: .*internal/) as unknown,
    });
    await client?.close();
    const port = new URL(base).port;
    const named = new Taxii21Upstream(`http://${hostname()}:${port}/api1/collections/c1/`, strict);
    const g = failed(await named.getObjects({ limit: 1 }));
    await named.close();
    expect(g).toMatchObject({ kind: 'refused', message: expect.stringMatching(/resolves to the internal address/) as unknown });
    expect(up.seen).toEqual([]);
    expect(page(await open({ policy: { allowedHosts: ['127.0.0.1'], allowPrivate: false } }).getObjects({ limit: 1 })).page.count).toBe(0);
  });

  it('keeps credentials out of every message, even when the upstream echoes them', async () => {
    const creds = { basic: { username: 'feeduser', password: 'Pa55-w0rd!' } };
    up.handler = (req, res) =>
      json(res, 401, JSON.stringify({ title: `bad ${req.headers.authorization ?? ''}`, description: `password Pa55-w0rd! at http://feeduser:Pa55-w0rd!@x/` }));
    const f = failed(await open({ credentials: creds }).getObjects({ limit: 1 }));
    expect(f.kind).toBe('auth');
    expect(f.message).not.toMatch(/Pa55-w0rd!|ZmVlZHVzZXI6UGE1NS13MHJkIQ==|feeduser:/);
    await client?.close();
    up.handler = (req, res) => json(res, 500, `token ${req.headers.authorization ?? ''}`);
    const g = failed(await open({ credentials: { token: { scheme: 'Token', value: 'k-123456' } } }).getObjects({ limit: 1, next: 'n' }));
    expect(g.message).toMatch(/HTTP 500: token Token \*\*\*/);
    expect(g.message).not.toMatch(/k-123456|next=/);
    expect(scrub('see https://a:b@host/x and ftp://u@h/', [])).toBe('see https://host/x and ftp://h/');
  });

  it("finds a collection by title or id from a discovery URL, default API root first, only at the discovery URL's origin", async () => {
    up.handler = (req, res) => {
      const p = new URL(req.url ?? '', base).pathname;
      if (p === '/taxii2/')
        return json(
          res,
          200,
          JSON.stringify({
            title: 'd',
            default: `${base}/r2/`,
            api_roots: [`${base}/r1/`, '/r2/', 'http://10.0.0.1/r3/', `http://localhost:${new URL(base).port}/r4/`, 7],
          }),
        );
      if (p === '/r4/collections/') return json(res, 200, JSON.stringify({ collections: [{ id: 'c-d', title: 'Elsewhere' }] }));
      if (p === '/r1/collections/') return json(res, 200, JSON.stringify({ collections: [{ id: 'c-a', title: 'Shared' }] }));
      if (p === '/r2/collections/')
        return json(
          res,
          200,
          JSON.stringify({
            collections: [
              { id: 'c-b', title: 'Feeds' },
              { id: 'c-c', title: 'Shared' },
            ],
          }),
        );
      return json(res, 404, '{}');
    };
    const opts: UpstreamOptions = { policy: { allowedHosts: ['127.0.0.1'], allowPrivate: false } };
    expect(await Taxii21Upstream.resolveCollection(`${base}/taxii2/`, 'Shared', opts)).toEqual({ ok: true, collectionUrl: `${base}/r2/collections/c-c/` });
    expect(await Taxii21Upstream.resolveCollection(`${base}/taxii2`, 'c-a', opts)).toEqual({ ok: true, collectionUrl: `${base}/r1/collections/c-a/` });
    const none = await Taxii21Upstream.resolveCollection(`${base}/taxii2/`, 'Nope', opts);
    expect(none).toMatchObject({ ok: false, kind: 'refused', message: expect.stringMatching(/No collection titled or identified "Nope"/) as unknown });
    const elsewhere = await Taxii21Upstream.resolveCollection(`${base}/taxii2/`, 'Elsewhere', {
      ...OPEN,
      credentials: { token: { scheme: 'Bearer', value: 't' } },
    });
    expect(elsewhere).toMatchObject({ ok: false, kind: 'refused' });
    expect(up.seen.some((s) => /r3|r4/.test(s.url))).toBe(false);
    up.handler = (req, res) =>
      req.url === '/taxii2/'
        ? json(res, 200, JSON.stringify({ api_roots: ['/r1/', '/r2/'] }))
        : json(res, req.url?.startsWith('/r1') === true ? 503 : 200, '{"collections":[]}');
    expect(await Taxii21Upstream.resolveCollection(`${base}/taxii2/`, 'Shared', opts)).toMatchObject({ ok: false, kind: 'transient', status: 503 });
    up.handler = (_q, res) => json(res, 401, '{}');
    expect(await Taxii21Upstream.resolveCollection(`${base}/taxii2/`, 'Shared', opts)).toMatchObject({ ok: false, kind: 'auth' });
  });
});

describe('Taxii21Upstream over HTTPS with a client certificate', () => {
  let dir: string;
  let up: LocalUpstream;
  let base: string;
  const pem = (f: string): string => readFileSync(join(dir, f), 'utf8');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'taxiway-feed-pki-'));
    makeTestPki(dir, { caName: 'Feed test CA', clients: [{ name: 'feed', cn: 'taxiway-feed' }] });
    up = new LocalUpstream(
      createHttpsServer({ key: pem('server.key'), cert: pem('server.pem'), ca: pem('ca.pem'), requestCert: true, rejectUnauthorized: true }),
      'https',
    );
    base = await up.listen();
    up.handler = (_q, res) => json(res, 200, `{"objects":[${indicator(9)}],"more":false}`);
  }, 60_000);
  afterAll(async () => {
    await up.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('authenticates with the client certificate, beside Basic credentials, trusting the given CA', async () => {
    const c = new Taxii21Upstream(`${base}/api1/collections/c1/`, {
      ...OPEN,
      credentials: { basic: { username: 'u', password: 'p' }, certificate: { cert: pem('feed.pem'), key: pem('feed.key'), ca: pem('ca.pem') } },
    });
    const a = page(await c.getObjects({ limit: 5 }));
    await c.close();
    expect(a.objects).toEqual([indicator(9)]);
    expect(up.seen.at(-1)?.clientCn).toBe('taxiway-feed');
    expect(up.seen.at(-1)?.headers.authorization).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
  });

  it('fails as transient without the certificate the upstream requires, and with an untrusted upstream, keeping the key out of the message', async () => {
    const noCert = new Taxii21Upstream(`${base}/api1/collections/c1/`, { ...OPEN, ca: pem('ca.pem') });
    const f = failed(await noCert.getObjects({ limit: 5 }));
    await noCert.close();
    expect(f.kind).toBe('transient');
    const untrusted = new Taxii21Upstream(`${base}/api1/collections/c1/`, {
      ...OPEN,
      credentials: { certificate: { cert: pem('feed.pem'), key: pem('feed.key') } },
    });
    const g = failed(await untrusted.getObjects({ limit: 5 }));
    await untrusted.close();
    expect(g).toMatchObject({ kind: 'transient', message: expect.stringMatching(/certificate/i) as unknown });
    expect(g.message).not.toContain('PRIVATE KEY');
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it('reads delay-seconds and HTTP dates; a past date is no wait; anything else is unknown', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:45 GMT', now)).toBe(45_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now)).toBe(0);
    for (const v of [undefined, '', '-5', '1.5', 'soon', '2026-13-45']) expect(parseRetryAfter(v, now)).toBeUndefined();
  });
});
