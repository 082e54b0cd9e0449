import { randomUUID } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { indicator } from '../../apps/api/test/fixture';
import { BIG_COLL, HOSTILE_STATE } from './fixture';
import { basic, client, startServer, type BackendName, type RunningServer } from '../support/server';
import { NS11, poll, post, status } from '../support/taxii1';

// Depth: hostile input (issue 12): small requests that would cost the server far more than the caller.

describe.each<BackendName>(['postgresql', 'pglite'])('no amplification (%s)', (backend) => {
  let s: RunningServer;
  beforeAll(async () => {
    s = await startServer(HOSTILE_STATE, { backend, env: { MAX_OBJECTS_PER_ENVELOPE: '1000', TAXII1_MAX_BLOCKS_PER_MESSAGE: '20000' } });
  });
  afterAll(async () => {
    await s?.close();
  });

  it("does not copy an envelope's namespace declarations into every content block (199 declarations × 20,000 blocks)", async () => {
    const decls = Array.from({ length: 199 }, (_, i) => `xmlns:n${i}="urn:example:namespace:number:${i}"`).join(' ');
    const blocks =
      '<taxii_11:Content_Block><taxii_11:Content_Binding binding_id="urn:x"/><taxii_11:Content><x/></taxii_11:Content></taxii_11:Content_Block>'.repeat(20_000);
    const body = `<taxii_11:Inbox_Message xmlns:taxii_11="${NS11}" ${decls} message_id="amp-${randomUUID()}">${blocks}</taxii_11:Inbox_Message>`;
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const rss0 = process.memoryUsage().rss;
    const t0 = performance.now();
    const r = await post(s.url, '/taxii1/big/inbox/', body, { auth: basic('alice') });
    const ms = performance.now() - t0;
    lag.disable();
    expect(status(r).type).toBe('SUCCESS');
    expect(ms).toBeLessThan(15_000);
    expect((process.memoryUsage().rss - rss0) / 1024 / 1024).toBeLessThan(400);
    // Stored: the content and what it uses, not 199 declarations per block.
    const stored = await s.server.database.dataSource.query(`SELECT sum(length(content) + length(content_ns::text))::bigint AS n FROM content_blocks`);
    expect(Number(stored[0].n)).toBeLessThan(20_000 * 20);
    const answer = await post(s.url, '/taxii1/big/poll/', poll('big'), { auth: basic('alice') });
    // One part of 1,000 blocks (TAXII1_PART_SIZE): about 200 bytes each, not 14 KB.
    expect(answer.text.length).toBeLessThan(500 * 1024);
    expect(answer.text).not.toContain('urn:example:namespace:number:7"');
  });

  it('refuses an envelope of more than MAX_OBJECTS_PER_ENVELOPE objects with 413, storing none', async () => {
    const alice = client(s.url, basic('alice'));
    const ids = Array.from({ length: 1001 }, () => `indicator--${randomUUID()}`);
    const big = await alice.post(`/big/collections/${BIG_COLL}/objects/`, { objects: ids.map((id) => indicator(id)) });
    expect(big.status).toBe(413);
    expect(big.json).toMatchObject({ error_code: 'PayloadTooLarge', details: { max_objects: 1000 } });
    expect((await alice.get(`/big/collections/${BIG_COLL}/objects/${ids[0]}/`)).status).toBe(404);
  });

  it('answers tiny bodies that ask for huge work at once: too many objects 413, non-objects 422, with bounded cost', async () => {
    const alice = client(s.url, basic('alice'));
    for (const [body, code] of [
      [`{"objects":[${Array(5_000_000).fill('0').join(',')}]}`, 413],
      [`{"objects":[${Array(700_000).fill('{}').join(',')}]}`, 413],
      [`{"objects":[${Array(900).fill('0').join(',')}]}`, 422],
    ] as const) {
      const lag = monitorEventLoopDelay({ resolution: 10 });
      lag.enable();
      const rss0 = process.memoryUsage().rss;
      const t0 = performance.now();
      const r = await alice.post(`/big/collections/${BIG_COLL}/objects/`, body);
      const ms = performance.now() - t0;
      lag.disable();
      expect(r.status).toBe(code);
      // An error resource, not a 65 MB status.
      expect(r.text.length).toBeLessThan(2000);
      expect(ms).toBeLessThan(5000);
      expect((process.memoryUsage().rss - rss0) / 1024 / 1024).toBeLessThan(500);
      expect(lag.max / 1e6).toBeLessThan(1500);
    }
  });

  it('refuses an Inbox message of more than TAXII1_MAX_BLOCKS_PER_MESSAGE blocks, storing none', async () => {
    const before = await s.server.database.dataSource.query(`SELECT count(*)::int AS n FROM content_blocks`);
    const block = '<taxii_11:Content_Block><taxii_11:Content_Binding binding_id="urn:x"/><taxii_11:Content><y/></taxii_11:Content></taxii_11:Content_Block>';
    const body = `<taxii_11:Inbox_Message xmlns:taxii_11="${NS11}" message_id="many-${randomUUID()}">${block.repeat(20_001)}</taxii_11:Inbox_Message>`;
    const r = await post(s.url, '/taxii1/big/inbox/', body, { auth: basic('alice') });
    expect(status(r)).toMatchObject({ type: 'BAD_MESSAGE' });
    expect(status(r).message).toMatch(/at most 20000/);
    const after = await s.server.database.dataSource.query(`SELECT count(*)::int AS n FROM content_blocks`);
    expect(after[0].n).toBe(before[0].n);
  });
});
