import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '@taxiway/testing';
import { SqlAdminStore, SqlCatalogStore } from '@taxiway/store';
import { runCommand } from '../../cli/src/commands';
import { parseXml, type XmlElement } from '@taxiway/taxii1';
import { basic, client, startServer, type RunningServer } from '../../../test/support/server';
import { freshDatabase } from '../../../test/support/db';
import { NS10, NS11, STIX12, STIX21, blocks, child, inbox, post, schemaErrors, status, subscription, type T1Res } from '../../../test/support/taxii1';
import { indicator, indicatorId, RW, STATE } from './fixture';

type Behaviour = 'ok' | 'http500' | 'failure' | 'drop';

interface Delivery {
  readonly at: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly root: XmlElement;
}

/** A subscriber's inbox: a real HTTP server that records what it is sent and answers as told. */
class Receiver {
  readonly got: Delivery[] = [];
  readonly attempts: number[] = [];
  behaviour: (attempt: number) => Behaviour = () => 'ok';
  delayMs = 0;
  inFlight = 0;
  maxInFlight = 0;
  private server: Server | undefined;
  port = 0;

  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const n = this.attempts.push(Date.now());
        const b = this.behaviour(n);
        this.inFlight++;
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        setTimeout(() => {
          this.inFlight--;
          if (b === 'drop') {
            req.socket.destroy();
            return;
          }
          if (b === 'http500') {
            res.writeHead(500).end('oops');
            return;
          }
          const body = Buffer.concat(chunks).toString('utf8');
          const root = parseXml(body);
          if (b === 'ok') this.got.push({ at: Date.now(), headers: req.headers, body, root });
          const v = root.ns === NS10 ? '1.0' : '1.1';
          const prefix = v === '1.1' ? 'taxii_11' : 'taxii';
          res.writeHead(200, {
            'content-type': 'application/xml',
            'x-taxii-content-type': `urn:taxii.mitre.org:message:xml:${v}`,
            'x-taxii-services': `urn:taxii.mitre.org:services:${v}`,
            'x-taxii-protocol': 'urn:taxii.mitre.org:protocol:http:1.0',
          });
          res.end(
            `<${prefix}:Status_Message xmlns:${prefix}="${v === '1.1' ? NS11 : NS10}" message_id="1" in_response_to="${root.attrs.get('message_id') ?? '0'}" status_type="${b === 'ok' ? 'SUCCESS' : 'FAILURE'}"><${prefix}:Message>as told</${prefix}:Message></${prefix}:Status_Message>`,
          );
        }, this.delayMs);
      });
    });
    await new Promise<void>((r) => this.server!.listen(port, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  get address(): string {
    return `http://127.0.0.1:${this.port}/inbox/`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server === undefined ? r() : this.server.close(() => r())));
    this.server?.closeAllConnections();
  }

  /** The content of every delivered block, in delivery order. */
  contents(): string[] {
    return this.got.flatMap((d) => blocks({ text: d.body, root: d.root }).map((b) => b.raw));
  }
}

const A = '/taxii1/tenant-a';
const alice = basic('alice');
const pkg = (n: number | string): string => `<stix:STIX_Package xmlns:stix="http://stix.mitre.org/stix-1" id="example:Package-${n}" version="1.2"/>`;

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

// The test inboxes listen on loopback, which a default server refuses to push to.
const FAST = { TAXII1_PUSH_RETRY_BASE_MS: '100', TAXII1_PUSH_RETRY_MAX_MS: '2000', TAXII1_PUSH_INTERVAL_MS: '50', TAXII1_PUSH_ALLOW_PRIVATE: 'true' };

describe('TAXII 1.x push delivery', () => {
  let s: RunningServer;
  const receivers: Receiver[] = [];
  const sent: string[] = [];

  const call = (path: string, body: string, v: '1.0' | '1.1' = '1.1'): Promise<T1Res> => post(s.url, path, body, { auth: alice, v });
  const subscribe = async (
    address: string,
    o: { v?: '1.0' | '1.1'; bindings?: string[]; responseType?: 'FULL' | 'COUNT_ONLY'; collection?: string } = {},
  ): Promise<string> => {
    const v = o.v ?? '1.1';
    const r = await call(
      `${A}/collection-management/`,
      subscription(o.collection ?? 'rw', { v, action: 'SUBSCRIBE', push: { address }, bindings: o.bindings ?? [], responseType: o.responseType ?? 'FULL' }),
      v,
    );
    const sub = child(r.root, 'Subscription');
    const id = child(sub, 'Subscription_ID')?.text ?? sub?.attrs.get('subscription_id');
    if (id === undefined) throw new Error(`no subscription: ${r.text}`);
    return id;
  };
  const receiver = async (): Promise<Receiver> => {
    const r = await new Receiver().start();
    receivers.push(r);
    return r;
  };
  const push = async (...contents: string[]): Promise<void> => {
    expect(status(await call(`${A}/inbox/rw/`, inbox(contents.map((c) => ({ content: c }))))).type).toBe('SUCCESS');
  };

  beforeAll(async () => {
    s = await startServer(STATE, { env: FAST });
  });
  afterEach(async () => {
    for (const r of receivers) sent.push(...r.got.map((d) => d.body));
    await Promise.all(receivers.splice(0).map((r) => r.stop()));
    await s.server.database.dataSource.query(`DELETE FROM taxii1_subscriptions`);
  });
  afterAll(async () => {
    await s?.close();
  });

  it("delivers new content to the subscriber's inbox as an Inbox_Message naming the subscription, byte for byte", async () => {
    const r = await receiver();
    const id = await subscribe(r.address);
    await push(pkg('a'), pkg('b'));
    await until('a delivery', () => r.got.length > 0);
    const d = r.got[0]!;
    expect(d.headers['x-taxii-content-type']).toBe('urn:taxii.mitre.org:message:xml:1.1');
    expect(d.headers['x-taxii-services']).toBe('urn:taxii.mitre.org:services:1.1');
    expect(d.headers['content-type']).toBe('application/xml');
    expect(d.root.local).toBe('Inbox_Message');
    const src = child(d.root, 'Source_Subscription');
    expect(src?.attrs.get('collection_name')).toBe('rw');
    expect(child(src, 'Subscription_ID')?.text).toBe(id);
    expect(child(src, 'Inclusive_End_Timestamp')?.text).toBe(blocks({ text: d.body, root: d.root }).at(-1)?.label);
    expect(child(d.root, 'Record_Count')?.text).toBe('2');
    expect(r.contents()).toEqual([pkg('a'), pkg('b')]);
    await until('the outbox entry to be delivered', async () => (await s.server.taxii1Store.outbox(id))[0]?.state === 'delivered');
  });

  it('delivers in order with at most one delivery in flight per subscription', async () => {
    const r = await receiver();
    r.delayMs = 150;
    await subscribe(r.address);
    for (let i = 0; i < 6; i++) await push(pkg(`o${i}`));
    await until('six blocks', () => r.contents().length === 6);
    expect(r.contents()).toEqual([0, 1, 2, 3, 4, 5].map((i) => pkg(`o${i}`)));
    expect(r.maxInFlight).toBe(1);
    const labels = r.got.flatMap((d) => blocks({ text: d.body, root: d.root }).map((b) => b.label!));
    expect([...labels].sort()).toEqual(labels);
    // The messages' label ranges follow one another without overlapping.
    for (let i = 1; i < r.got.length; i++) {
      const begin = child(child(r.got[i]!.root, 'Source_Subscription'), 'Exclusive_Begin_Timestamp')!.text;
      const prevEnd = child(child(r.got[i - 1]!.root, 'Source_Subscription'), 'Inclusive_End_Timestamp')!.text;
      expect(begin >= prevEnd).toBe(true);
    }
  });

  it('retries a failing inbox with exponential backoff and records why, then delivers', async () => {
    const r = await receiver();
    r.behaviour = (n) => (['http500', 'failure', 'drop'] as const)[n - 1] ?? 'ok';
    const id = await subscribe(r.address);
    await push(pkg('retry'));
    await until('the delivery after three failures', () => r.got.length === 1);
    expect(r.attempts.length).toBe(4);
    const gaps = r.attempts.slice(1).map((t, i) => t - r.attempts[i]!);
    // 100 ms, 200 ms, 400 ms (±20%) plus the scan interval: each wait longer than the one before.
    expect(gaps[1]!).toBeGreaterThan(gaps[0]!);
    expect(gaps[2]!).toBeGreaterThan(gaps[1]!);
    expect(gaps[0]!).toBeGreaterThanOrEqual(75);
    expect(r.contents()).toEqual([pkg('retry')]);
    const [entry] = await s.server.taxii1Store.outbox(id);
    expect(entry).toMatchObject({ state: 'delivered', blocks: 1 });
    const text = await s.server.metricsText();
    expect(text).toMatch(/taxiway_taxii1_push_deliveries_total\{api_root="tenant-a",collection="rw",result="retry"\} [3-9]/);
    expect(text).toMatch(/taxiway_taxii1_push_deliveries_total\{api_root="tenant-a",collection="rw",result="delivered"\} \d+/);
  });

  it('sends nothing while a subscription is paused and everything it missed on resume', async () => {
    const r = await receiver();
    const id = await subscribe(r.address);
    const sub = (action: 'PAUSE' | 'RESUME'): Promise<T1Res> => call(`${A}/collection-management/`, subscription('rw', { action, id }));
    expect(child((await sub('PAUSE')).root, 'Subscription')?.attrs.get('status')).toBe('PAUSED');
    await push(pkg('p1'));
    await push(pkg('p2'));
    await new Promise((res) => setTimeout(res, 600));
    expect(r.attempts).toEqual([]);
    await sub('RESUME');
    await until('the missed content', () => r.contents().length === 2);
    expect(r.contents()).toEqual([pkg('p1'), pkg('p2')]);
  });

  it('tells COUNT_ONLY subscribers how many records arrived, without content', async () => {
    const r = await receiver();
    await subscribe(r.address, { responseType: 'COUNT_ONLY' });
    await push(pkg('c1'), pkg('c2'), pkg('c3'));
    await until('a count', () => r.got.length === 1);
    expect(child(r.got[0]!.root, 'Record_Count')?.text).toBe('3');
    expect(r.contents()).toEqual([]);
  });

  it('pushes in TAXII 1.0 to a 1.0 subscription, filtered by its content bindings', async () => {
    const r = await receiver();
    await subscribe(r.address, { v: '1.0', bindings: [STIX12] });
    expect(status(await call(`${A}/inbox/rw/`, inbox([{ content: 'other', binding: 'urn:example.com:x' }, { content: pkg('ten') }]))).type).toBe('SUCCESS');
    await until('a 1.0 delivery', () => r.got.length === 1);
    expect(r.got[0]!.root.ns).toBe(NS10);
    expect(r.got[0]!.headers['x-taxii-content-type']).toBe('urn:taxii.mitre.org:message:xml:1.0');
    expect(child(r.got[0]!.root, 'Source_Subscription')?.attrs.get('feed_name')).toBe('rw');
    expect(r.contents()).toEqual([pkg('ten')]);
  });

  it('pushes STIX 2.1 objects added over TAXII 2.1 to subscriptions that asked for their binding', async () => {
    const r = await receiver();
    const plain = await receiver();
    await subscribe(r.address, { bindings: [STIX21] });
    await subscribe(plain.address);
    const id = indicatorId();
    expect((await client(s.url, alice).post(`/tenant-a/collections/${RW}/objects/`, { objects: [indicator(id)] })).status).toBe(202);
    await until('the 2.1 object', () => r.got.length === 1);
    const b = blocks({ text: r.got[0]!.body, root: r.got[0]!.root });
    expect(b[0]!.binding).toBe(STIX21);
    expect(b[0]!.raw).toContain(id);
    await new Promise((res) => setTimeout(res, 300));
    expect(plain.got).toEqual([]);
  });

  it('survives a restart: what was queued while the inbox was down is delivered by the next server', async () => {
    const url = await freshDatabase('push');
    const port = await freePort();
    const first = await startServer(STATE, { env: { ...FAST, DATABASE_URL: url } });
    const down = `http://127.0.0.1:${port}/inbox/`;
    const r1 = await post(first.url, `${A}/collection-management/`, subscription('rw', { action: 'SUBSCRIBE', push: { address: down } }), { auth: alice });
    const id = child(child(r1.root, 'Subscription'), 'Subscription_ID')!.text;
    expect(status(await post(first.url, `${A}/inbox/rw/`, inbox([{ content: pkg('durable') }]), { auth: alice })).type).toBe('SUCCESS');
    await until('a failed attempt', async () => ((await first.server.taxii1Store.outbox(id))[0]?.attempts ?? 0) > 0);
    const pending = (await first.server.taxii1Store.outbox(id))[0]!;
    expect(pending.state).toBe('pending');
    expect(pending.lastError).toMatch(/fetch failed|ECONNREFUSED/);
    await first.close();

    const r = await new Receiver().start(port);
    receivers.push(r);
    const second = await startServer(STATE, { env: { ...FAST, DATABASE_URL: url } });
    try {
      await until('delivery by the second server', () => r.got.length === 1);
      expect(r.contents()).toEqual([pkg('durable')]);
    } finally {
      await second.close();
    }
  });

  it('delivers every block exactly once, in order and one at a time, with two replicas claiming from one outbox', async () => {
    const url = await freshDatabase('push2');
    const env = { ...FAST, DATABASE_URL: url, TAXII1_PUSH_MAX_BLOCKS: '3' };
    const a = await startServer(STATE, { env });
    const b = await startServer(STATE, { env });
    try {
      const r = await receiver();
      r.delayMs = 20;
      const sr = await post(a.url, `${A}/collection-management/`, subscription('rw', { action: 'SUBSCRIBE', push: { address: r.address } }), { auth: alice });
      expect(sr.root?.local).toBe('Subscription_Management_Response');
      const sent: string[] = [];
      for (let i = 0; i < 20; i++) {
        const batch = [pkg(`r${i}a`), pkg(`r${i}b`)];
        sent.push(...batch);
        const via = i % 2 === 0 ? a : b;
        expect(status(await post(via.url, `${A}/inbox/rw/`, inbox(batch.map((content) => ({ content }))), { auth: alice })).type).toBe('SUCCESS');
      }
      await until('all 40 blocks', () => r.contents().length >= 40, 30_000);
      await new Promise((res) => setTimeout(res, 300));
      expect(r.contents()).toEqual(sent);
      expect(r.maxInFlight).toBe(1);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('gives up after TAXII1_PUSH_GIVE_UP_SECONDS, records the reason, and goes on with later content', async () => {
    const other = await startServer(STATE, { env: { ...FAST, TAXII1_PUSH_GIVE_UP_SECONDS: '1' } });
    try {
      const r = await receiver();
      r.behaviour = () => 'http500';
      const sr = await post(other.url, `${A}/collection-management/`, subscription('rw', { action: 'SUBSCRIBE', push: { address: r.address } }), {
        auth: alice,
      });
      const id = child(child(sr.root, 'Subscription'), 'Subscription_ID')!.text;
      expect(status(await post(other.url, `${A}/inbox/rw/`, inbox([{ content: pkg('lost') }]), { auth: alice })).type).toBe('SUCCESS');
      await until('giving up', async () => (await other.server.taxii1Store.outbox(id))[0]?.state === 'failed');
      const [failed] = await other.server.taxii1Store.outbox(id);
      expect(failed!.lastError).toBe('the inbox answered HTTP 500');
      expect(failed!.attempts).toBeGreaterThan(1);
      expect(await other.server.metricsText()).toMatch(/taxiway_taxii1_push_deliveries_total\{api_root="tenant-a",collection="rw",result="failed"\} 1/);
      r.behaviour = () => 'ok';
      expect(status(await post(other.url, `${A}/inbox/rw/`, inbox([{ content: pkg('later') }]), { auth: alice })).type).toBe('SUCCESS');
      await until('the later content', () => r.got.length === 1);
      expect(r.contents()).toEqual([pkg('later')]);

      // An operator sees what was given up and why, and queues it again once the subscriber is back.
      const lines: string[] = [];
      const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l), env: {} };
      const stores = {
        admin: new SqlAdminStore(other.server.database.dataSource),
        catalog: new SqlCatalogStore(other.server.database.dataSource),
        audit: other.server.audit,
        taxii1: other.server.taxii1Store,
      };
      expect(await runCommand(['subscriptions', 'tenant-a'], io, stores)).toBe(0);
      const row = lines.find((l) => l.startsWith(id))!.split('\t');
      expect(row.slice(1, 5)).toEqual(['rw', 'alice', '1.1', 'ACTIVE']);
      expect(row.slice(6)).toEqual([r.address, '0', '1', '1', 'the inbox answered HTTP 500']);
      expect(await runCommand(['push', 'retry', id], io, stores)).toBe(0);
      expect(lines.at(-1)).toBe(`1 given-up delivery of ${id} queued again`);
      other.server.pushWorker?.nudge();
      await until('the given-up content', () => r.got.length === 2);
      expect(r.contents()).toEqual([pkg('later'), pkg('lost')]);
    } finally {
      await other.close();
    }
  });

  it('refuses by default to push to loopback, private and link-local addresses', async () => {
    const strict = await startServer(STATE);
    try {
      const sub = (address: string): Promise<T1Res> =>
        post(strict.url, `${A}/collection-management/`, subscription('rw', { action: 'SUBSCRIBE', push: { address } }), { auth: alice });
      for (const address of ['http://127.0.0.1:1/inbox/', 'http://localhost:1/', 'http://169.254.169.254/latest/', 'http://10.0.0.1/', 'http://[::1]/']) {
        const r = await sub(address);
        expect(status(r).type, address).toBe('DENIED');
        expect(status(r).message).toMatch(/internal addresses/);
      }
    } finally {
      await strict.close();
    }
  });

  it('refuses push addresses outside TAXII1_PUSH_ALLOWED_HOSTS', async () => {
    const other = await startServer(STATE, { env: { TAXII1_PUSH_ALLOWED_HOSTS: '.example.org,inbox.example.com' } });
    try {
      const sub = (address: string): Promise<T1Res> =>
        post(other.url, `${A}/collection-management/`, subscription('rw', { action: 'SUBSCRIBE', push: { address } }), { auth: alice });
      expect(status(await sub('http://127.0.0.1:1/')).type).toBe('DENIED');
      expect((await sub('http://feeds.example.org/inbox')).root?.local).toBe('Subscription_Management_Response');
      expect((await sub('http://inbox.example.com/')).root?.local).toBe('Subscription_Management_Response');
    } finally {
      await other.close();
    }
  });

  it('reports the outbox in the metrics', async () => {
    const text = await s.server.metricsText();
    expect(text).toMatch(/taxiway_taxii1_outbox_entries\{state="pending"\} \d+/);
    expect(text).toMatch(/taxiway_taxii1_outbox_oldest_pending_age_seconds \d/);
    expect(text).toMatch(/taxiway_taxii1_push_duration_seconds_count \d+/);
  });

  it('pushes only messages that validate against the official schemas', async () => {
    expect(sent.length).toBeGreaterThan(8);
    expect(await schemaErrors(sent)).toEqual([]);
  });
});
