import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RW } from '../../apps/api/test/fixture';
import { BIG, HOSTILE_STATE } from './fixture';
import { chunks, rawRequest } from '../support/raw-http';
import { basic, startServer, TAXII, type BackendName, type RunningServer } from '../support/server';
import { headersFor } from '../support/taxii1';

// Depth: hostile input (issue 12). Each case asserts the answer and what it cost the server.

const MiB = 1024 * 1024;

async function clientErrors(s: RunningServer, status: number): Promise<number> {
  const m = new RegExp(`^taxiway_http_client_errors_total\\{status="${status}",[^}]*\\} (\\d+)`, 'm').exec(await s.server.metricsText());
  return Number(m?.[1] ?? 0);
}

describe.each<BackendName>(['postgresql', 'pglite'])('request bodies cost what they honestly are (%s)', (backend) => {
  let s: RunningServer;
  beforeAll(async () => {
    s = await startServer(HOSTILE_STATE, { backend, env: { BODY_GRACE_SECONDS: '1', BODY_DISCARD_BYTES: String(MiB) } });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('reads at most 4 KiB of an unauthenticated TAXII 1.x message, however large it says it is', async () => {
    global.gc?.();
    const rss0 = process.memoryUsage().rss;
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        rawRequest(s.url, {
          method: 'POST',
          path: '/taxii1/big/inbox/',
          headers: headersFor('1.1'),
          contentLength: BIG - 1,
          chunks: chunks(100, MiB),
          timeoutMs: 10_000,
        }),
      ),
    );
    const growth = (process.memoryUsage().rss - rss0) / MiB;
    for (const a of answers) {
      expect(a.status).toBe(200);
      expect(a.body).toMatch(/status_type="UNAUTHORIZED"/);
      expect(a.headers['connection']).toBe('close');
      expect(a.ms).toBeLessThan(5000);
      // What the kernel's buffers took before the server closed the connection, not 100 MiB.
      expect(a.sent).toBeLessThan(40 * MiB);
    }
    expect(growth).toBeLessThan(100);
  });

  it('cuts off a trickled body with 408 and a TAXII error (2.1) or TOO_SLOW (1.x), and closes the connection', async () => {
    const trickle = (path: string, headers: Record<string, string>) =>
      rawRequest(s.url, { method: 'POST', path, headers, chunks: chunks(60, 1, 200), timeoutMs: 10_000 });
    const t21 = await trickle(`/tenant-a/collections/${RW}/objects/`, { authorization: basic('alice'), accept: TAXII, 'content-type': TAXII });
    expect(t21.status).toBe(408);
    expect(t21.headers['content-type']).toBe(TAXII);
    expect(JSON.parse(t21.body)).toMatchObject({ error_code: 'RequestTimeout', http_status: '408' });
    expect(t21.ended).toBe('end');
    expect(t21.ms).toBeLessThan(5000);
    const t1 = await trickle('/taxii1/tenant-a/inbox/', { ...headersFor('1.1'), authorization: basic('alice') });
    expect(t1.status).toBe(408);
    expect(t1.body).toMatch(/status_type="BAD_MESSAGE"/);
    expect(t1.body).toMatch(/slower than/);
    expect(t1.ms).toBeLessThan(5000);
  });

  it('answers a chunked body over max_content_length with 413 and a TAXII error, not a reset, and counts it', async () => {
    const before = await clientErrors(s, 413);
    const over = (path: string, headers: Record<string, string>) =>
      rawRequest(s.url, { method: 'POST', path, headers, chunks: chunks(20, 10_000), timeoutMs: 10_000 });
    const t21 = await over(`/tenant-a/collections/${RW}/objects/`, { authorization: basic('alice'), accept: TAXII, 'content-type': TAXII });
    expect(t21.status).toBe(413);
    expect(JSON.parse(t21.body)).toMatchObject({ error_code: 'PayloadTooLarge', http_status: '413' });
    expect(t21.headers['connection']).toBe('close');
    const t1 = await over('/taxii1/tenant-a/inbox/', { ...headersFor('1.1'), authorization: basic('alice') });
    expect(t1.status).toBe(413);
    expect(t1.body).toMatch(/status_type="BAD_MESSAGE"/);
    expect(await clientErrors(s, 413)).toBe(before + 2);
  });

  it('refuses at once a declared size past what is worth discarding', async () => {
    const r = await rawRequest(s.url, {
      method: 'POST',
      path: `/tenant-a/collections/${RW}/objects/`,
      headers: { authorization: basic('alice'), accept: TAXII, 'content-type': TAXII },
      contentLength: 50 * MiB,
      chunks: chunks(50, MiB),
      stopOnAnswer: true,
      timeoutMs: 10_000,
    });
    expect(r.status).toBe(413);
    expect(r.sent).toBeLessThan(10 * MiB);
  });
});
