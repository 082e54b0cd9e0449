import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '@taxiway/config';
import type { ApiRootInfo, CatalogSnapshot, CollectionInfo, PrincipalInfo, SubscriptionRow } from '@taxiway/domain';

import { MemoryCatalogStore, MemoryTaxii1Store, catalogSnapshot } from '@taxiway/testing';
import { MESSAGE_BINDING, NS, PROTOCOL_HTTP, formatLabel, parseXml, serializeMessage, type StatusType, type XmlElement } from '@taxiway/taxii1';
import { CatalogService } from '../catalog/catalog.service';
import { backoffMs, PushWorker } from './push-worker';

const root: ApiRootInfo = { pk: 1, name: 'demo', path: 'demo', title: 'Demo', description: undefined, maxContentLength: 1 << 20 };
const feed: CollectionInfo = {
  pk: 10,
  id: '00000000-0000-4000-8000-000000000010',
  apiRootPk: 1,
  name: 'feed',
  alias: undefined,
  title: 'feed',
  description: undefined,
  mediaTypes: [],
};
const subscriber: PrincipalInfo = { pk: 100, name: 'subscriber', displayName: undefined, passwordHash: undefined, disabled: false };
const withGrant = catalogSnapshot({
  roots: [root],
  collections: [feed],
  principals: [subscriber],
  rootGrants: [{ apiRootPk: 1, principalPk: 100, role: 'read' }],
});

/** One message the subscriber's inbox received. */
interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly doc: XmlElement;
}

/** A subscriber's TAXII inbox: records what is pushed and answers what the test says (SUCCESS by default). */
class Inbox {
  readonly got: Received[] = [];
  answer: { http: number; status: StatusType } = { http: 200, status: 'SUCCESS' };
  /** While set, answers wait for it. */
  hold: Promise<void> | undefined;
  private server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.got.push({ headers: req.headers, doc: parseXml(Buffer.concat(chunks).toString('utf8')) });
        const { http, status } = this.answer;
        void (this.hold ?? Promise.resolve()).then(() => {
          res
            .writeHead(http, { 'content-type': 'application/xml' })
            .end(serializeMessage({ kind: 'status', type: status, message: 'from the test' }, '1.1', '1'));
        });
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/inbox/`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

const child = (el: XmlElement | undefined, local: string): XmlElement | undefined => el?.children.find((c) => c.local === local);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe('PushWorker', () => {
  let inbox: Inbox;
  let worker: PushWorker | undefined;
  /** The store's clock: real time, or frozen at a value the test sets, plus a skew. */
  let clock: { frozen: number | undefined; skewMs: number };
  let store: MemoryTaxii1Store;
  let catalog: CatalogService;
  const logged: { level: string; msg: string; obj: Record<string, unknown> }[] = [];

  beforeEach(async () => {
    inbox = new Inbox();
    await inbox.start();
    clock = { frozen: undefined, skewMs: 0 };
    store = new MemoryTaxii1Store({ now: () => (clock.frozen ?? Date.now()) + clock.skewMs });
    catalog = new CatalogService(new MemoryCatalogStore(withGrant), { error: () => undefined } as never);
    await catalog.reload();
    logged.length = 0;
  });

  afterEach(async () => {
    await worker?.stop();
    worker = undefined;
    await inbox.stop();
  });

  function startWorker(env: Record<string, string> = {}, options: { timer?: boolean } = {}): PushWorker {
    const config = loadConfig(
      {
        TAXII1_PUSH_ALLOW_PRIVATE: 'true',
        TAXII1_PUSH_INTERVAL_MS: '10',
        TAXII1_PUSH_RETRY_BASE_MS: '10',
        TAXII1_PUSH_RETRY_MAX_MS: '20',
        TAXII1_PUSH_TIMEOUT_MS: '2000',
        ...env,
      },
      [],
    ).taxii1;
    const record =
      (level: string) =>
      (obj: Record<string, unknown>, msg: string): void => {
        logged.push({ level, msg, obj });
      };
    const log = { info: record('info'), warn: record('warn'), error: record('error') } as never;
    worker = new PushWorker({ store, catalog, config, log, metrics: undefined });
    if (options.timer !== false) worker.start();
    return worker;
  }

  async function subscribe(over: Partial<SubscriptionRow> = {}): Promise<SubscriptionRow> {
    const { row } = await store.subscribe({
      collectionPk: feed.pk,
      principalPk: subscriber.pk,
      version: '1.1',
      responseType: 'FULL',
      contentBindings: [],
      push: { protocol: PROTOCOL_HTTP, address: inbox.url, messageBinding: MESSAGE_BINDING['1.1'] },
      fingerprint: String(Math.random()),
      ...over,
    });
    return row;
  }

  async function add(count: number): Promise<{ firstUs: number; lastUs: number }> {
    const blocks = Array.from({ length: count }, (_, i) => ({
      binding: 'urn:stix.mitre.org:xml:1.2',
      subtype: undefined,
      content: `<x n="${i}"/>`,
      contentNs: {},
      message: undefined,
    }));
    const [added] = await store.addBlocks([feed.pk], subscriber.pk, blocks);
    return added!;
  }

  const entry = async (sub: SubscriptionRow) => (await store.outbox(sub.id))[0];
  const label = (doc: XmlElement, name: string) => child(child(doc, 'Source_Subscription'), name)?.text;

  it('delivers new content as an Inbox_Message naming the subscription and the window it covers, and marks it delivered', async () => {
    const sub = await subscribe();
    const { firstUs, lastUs } = await add(3);
    startWorker();
    await until('delivery', async () => (await entry(sub))?.state === 'delivered');
    expect(inbox.got).toHaveLength(1);
    const { doc, headers } = inbox.got[0]!;
    expect(headers['x-taxii-content-type']).toBe(MESSAGE_BINDING['1.1']);
    expect([doc.ns, doc.local]).toEqual([NS['1.1'], 'Inbox_Message']);
    expect(child(child(doc, 'Source_Subscription'), 'Subscription_ID')?.text).toBe(sub.id);
    // The window (first - 1 µs, last]: exclusive begin, inclusive end.
    expect(label(doc, 'Exclusive_Begin_Timestamp')).toBe(formatLabel(firstUs - 1));
    expect(label(doc, 'Inclusive_End_Timestamp')).toBe(formatLabel(lastUs));
    expect(child(doc, 'Record_Count')?.text).toBe('3');
    expect(doc.children.filter((c) => c.local === 'Content_Block')).toHaveLength(3);
    expect(await store.outbox(sub.id)).toEqual([{ state: 'delivered', attempts: 0, lastError: undefined, blocks: 3 }]);
  });

  it('splits a backlog into messages of TAXII1_PUSH_MAX_BLOCKS, each window starting where the last ended', async () => {
    const sub = await subscribe();
    await add(5);
    startWorker({ TAXII1_PUSH_MAX_BLOCKS: '2' });
    await until('delivery', async () => (await entry(sub))?.state === 'delivered');
    const windows = inbox.got.map(({ doc }) => [label(doc, 'Exclusive_Begin_Timestamp'), label(doc, 'Inclusive_End_Timestamp')]);
    expect(inbox.got.map(({ doc }) => doc.children.filter((c) => c.local === 'Content_Block').length)).toEqual([2, 2, 1]);
    expect(windows[1]![0]).toBe(windows[0]![1]);
    expect(windows[2]![0]).toBe(windows[1]![1]);
    expect((await entry(sub))?.blocks).toBe(5);
  });

  it('tells a COUNT_ONLY subscription the count, without content', async () => {
    const sub = await subscribe({ responseType: 'COUNT_ONLY' });
    await add(4);
    startWorker();
    await until('delivery', async () => (await entry(sub))?.state === 'delivered');
    expect(child(inbox.got[0]!.doc, 'Record_Count')?.text).toBe('4');
    expect(inbox.got[0]!.doc.children.some((c) => c.local === 'Content_Block')).toBe(false);
  });

  it('retries a failing inbox only after a backoff that doubles per attempt, keeping the reason, then delivers', async () => {
    const sub = await subscribe();
    await add(1);
    clock.frozen = Date.now();
    inbox.answer = { http: 500, status: 'FAILURE' };
    startWorker();
    await until('a failed attempt', async () => (await entry(sub))?.attempts === 1);
    expect(await entry(sub)).toMatchObject({ state: 'pending', lastError: 'the inbox answered HTTP 500' });
    // Not due before base × 2^0 (10 ms ± 20%) has passed on the store's clock.
    await sleep(60);
    expect(inbox.got).toHaveLength(1);
    inbox.answer = { http: 200, status: 'DENIED' };
    clock.frozen += 13;
    await until('a second failed attempt', async () => (await entry(sub))?.attempts === 2);
    expect((await entry(sub))?.lastError).toBe('the inbox answered DENIED: from the test');
    // The second wait is 20 ms ± 20% (capped at 20): 13 ms later it is not due yet, 25 ms later it is.
    clock.frozen += 13;
    await sleep(60);
    expect(inbox.got).toHaveLength(2);
    inbox.answer = { http: 200, status: 'SUCCESS' };
    clock.frozen += 12;
    await until('delivery', async () => (await entry(sub))?.state === 'delivered');
    expect(inbox.got).toHaveLength(3);
    expect(await entry(sub)).toMatchObject({ attempts: 0, lastError: undefined, blocks: 1 });
    expect(logged.filter((l) => l.msg === 'push delivery failed; will retry')).toHaveLength(2);
  });

  it('gives up on an entry failing for TAXII1_PUSH_GIVE_UP_SECONDS, keeps the reason, and goes on with later content', async () => {
    const sub = await subscribe();
    await add(1);
    // The first failure is stamped two seconds ago on the store's clock: the next failure is past the one second allowed.
    clock.skewMs = -2000;
    inbox.answer = { http: 503, status: 'FAILURE' };
    startWorker({ TAXII1_PUSH_GIVE_UP_SECONDS: '1' });
    await until('giving up', async () => (await entry(sub))?.state === 'failed');
    expect(await entry(sub)).toMatchObject({ attempts: 2, lastError: 'the inbox answered HTTP 503' });
    expect(logged.some((l) => l.level === 'warn' && l.msg === 'push delivery given up')).toBe(true);
    expect(await store.outboxCounts()).toMatchObject({ pending: 0, failed: 1 });
    inbox.answer = { http: 200, status: 'SUCCESS' };
    await add(1);
    worker!.nudge();
    await until('the later entry', async () => (await entry(sub))?.state === 'delivered');
    expect((await store.outbox(sub.id)).map((e) => e.state)).toEqual(['delivered', 'failed']);
  });

  it('fails a delivery, without sending, once the subscriber may no longer read the collection', async () => {
    const sub = await subscribe();
    await add(1);
    catalog.install({ ...withGrant, rootGrants: [] } satisfies CatalogSnapshot);
    startWorker();
    await until('a failed attempt', async () => ((await entry(sub))?.attempts ?? 0) > 0);
    expect((await entry(sub))?.lastError).toMatch(/^the subscriber may no longer read the collection/);
    expect(inbox.got).toHaveLength(0);
  });

  it('sends nothing for a paused subscription, and one message for everything queued when it resumes', async () => {
    const sub = await subscribe();
    await store.setStatus(sub.pk, 'PAUSED');
    await add(1);
    await add(2);
    startWorker();
    await sleep(60);
    expect(inbox.got).toHaveLength(0);
    await store.setStatus(sub.pk, 'ACTIVE');
    worker!.nudge();
    await until('delivery', async () => (await store.outbox(sub.id)).every((e) => e.state === 'delivered'));
    expect(inbox.got).toHaveLength(1);
    expect(child(inbox.got[0]!.doc, 'Record_Count')?.text).toBe('3');
  });

  it('delivers on nudge without its timer, and a nudge during a delivery is not lost', async () => {
    const sub = await subscribe();
    let release = (): void => undefined;
    inbox.hold = new Promise((resolve) => (release = resolve));
    const w = startWorker({ TAXII1_PUSH_INTERVAL_MS: '600000' }, { timer: false });
    await add(1);
    w.nudge();
    await until('the first message', () => inbox.got.length === 1);
    await add(1);
    w.nudge();
    release();
    inbox.hold = undefined;
    await until('both delivered', async () => (await store.outbox(sub.id)).length === 2 && (await store.outbox(sub.id)).every((e) => e.state === 'delivered'));
    expect(inbox.got).toHaveLength(2);
  });

  it('stops: waits for the delivery in flight and then ignores nudges', async () => {
    const sub = await subscribe();
    await add(1);
    const w = startWorker({ TAXII1_PUSH_INTERVAL_MS: '600000' }, { timer: false });
    w.nudge();
    await w.stop();
    expect((await entry(sub))?.state).toBe('delivered');
    await add(1);
    w.nudge();
    await sleep(50);
    expect(inbox.got).toHaveLength(1);
    expect(await store.outboxCounts()).toMatchObject({ pending: 1 });
    worker = undefined;
  });
});

describe('backoffMs', () => {
  it('doubles per attempt within ±20%, up to the cap', () => {
    const cfg = { pushRetryBaseMs: 100, pushRetryMaxMs: 1000 };
    expect(backoffMs(0, cfg, () => 0.5)).toBe(100);
    expect(backoffMs(3, cfg, () => 0.5)).toBe(800);
    expect(backoffMs(10, cfg, () => 0.5)).toBe(1000);
    expect(backoffMs(1, cfg, () => 0)).toBe(160);
    expect(backoffMs(1, cfg, () => 1)).toBe(240);
  });
});
