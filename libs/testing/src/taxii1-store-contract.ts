import { randomUUID } from 'node:crypto';
import { QuotaExceeded, Window, type BlockInput, type Delivery, type NewSubscription, type SubscriptionRow, type Taxii1Store } from '@taxiway/domain';
import type { SuiteApi } from './object-store-contract';

/** A Taxii1Store ready for the contract: a principal exists, and collections of one API root are made on demand. */
export interface Taxii1StoreFixture {
  readonly store: Taxii1Store;
  readonly principalPk: number;
  /** The path of the API root the collections belong to, and the principal's name (for subscriptionReport). */
  readonly rootPath: string;
  readonly principalName: string;
  /** Makes a new, empty collection and returns its pk and name; `maxObjects` is its quota. */
  createCollection(opts?: { readonly maxObjects?: number }): Promise<{ readonly pk: number; readonly name: string }>;
  close(): Promise<void>;
}

const STIX12 = 'urn:stix.mitre.org:xml:1.2';
const STIX11 = 'urn:stix.mitre.org:xml:1.1.1';
const PUSH = {
  protocol: 'urn:taxii.mitre.org:protocol:https:1.0',
  address: 'https://inbox.example.org/in',
  messageBinding: 'urn:taxii.mitre.org:message:xml:1.1',
};

const block = (n: number, over: Partial<BlockInput> = {}): BlockInput => ({
  binding: STIX12,
  subtype: undefined,
  content: `<x n="${n}"/>`,
  contentNs: {},
  message: undefined,
  ...over,
});

/**
 * What every Taxii1Store does (libs/domain/src/taxii1-store.ts), run against the in-memory fake and
 * the SQL store alike: the timeline's labels and windows, quotas, result sets, subscriptions and the
 * push outbox. Deliveries are claimed with a large limit and picked by subscription, as the SQL
 * outbox is shared by every collection of the database.
 */
export function taxii1StoreContract(api: SuiteApi, name: string, open: () => Promise<Taxii1StoreFixture>): void {
  const { describe, it, expect, beforeAll, afterAll } = api;

  describe(`TAXII 1.x store contract on ${name}`, () => {
    let f: Taxii1StoreFixture;
    beforeAll(async () => {
      f = await open();
    });
    afterAll(async () => {
      await f.close();
    });

    const add = (pk: number, blocks: readonly BlockInput[]) => f.store.addBlocks([pk], f.principalPk, blocks);
    const subscribe = async (collectionPk: number, over: Partial<NewSubscription> = {}): Promise<SubscriptionRow> =>
      (
        await f.store.subscribe({
          collectionPk,
          principalPk: f.principalPk,
          version: '1.1',
          responseType: 'FULL',
          contentBindings: [],
          push: PUSH,
          fingerprint: randomUUID(),
          ...over,
        })
      ).row;
    const claim = async (sub: SubscriptionRow, leaseMs = 60_000): Promise<Delivery | undefined> =>
      (await f.store.claimDeliveries(1000, leaseMs)).find((d) => d.subscription.pk === sub.pk);
    const ns = (rows: readonly { content: string }[]): number[] => rows.map((r) => Number(/n="(\d+)"/.exec(r.content)?.[1]));

    it('labels blocks with strictly increasing microseconds per collection and reads them back as stored, oldest first', async () => {
      const { pk } = await f.createCollection();
      const [a] = await add(pk, [block(1, { subtype: 's', contentNs: { p: 'urn:p' }, message: 'm' }), block(2)]);
      const [b] = await add(pk, [block(3)]);
      expect(a).toMatchObject({ collectionPk: pk, count: 2, bytes: Buffer.byteLength('<x n="1"/><x n="2"/>') });
      expect(a!.lastUs).toBe(a!.firstUs + 1);
      expect(b!.firstUs).toBeGreaterThan(a!.lastUs);
      const rows = await f.store.blocks({ collectionPk: pk, window: Window.of(undefined, b!.lastUs), bindings: [] }, 10);
      expect(rows.map((r) => r.labelUs)).toEqual([a!.firstUs, a!.lastUs, b!.firstUs]);
      expect(rows[0]).toEqual({ labelUs: a!.firstUs, binding: STIX12, subtype: 's', content: '<x n="1"/>', contentNs: { p: 'urn:p' }, message: 'm' });
      expect(rows[1]).toMatchObject({ subtype: undefined, message: undefined });
      expect(await f.store.addBlocks([pk], f.principalPk, [])).toEqual([]);
    });

    it('adds to several collections all or nothing: a full one refuses the whole message', async () => {
      const roomy = await f.createCollection();
      const full = await f.createCollection({ maxObjects: 2 });
      await add(full.pk, [block(1)]);
      const refused = f.store.addBlocks([roomy.pk, full.pk], f.principalPk, [block(2), block(3)]);
      await expect(refused).rejects.toBeInstanceOf(QuotaExceeded);
      await expect(refused).rejects.toMatchObject({ collectionPk: full.pk, max: 2 });
      const newest = Window.of(undefined, Number.MAX_SAFE_INTEGER);
      expect(await f.store.blocks({ collectionPk: roomy.pk, window: newest, bindings: [] }, 10)).toEqual([]);
      const added = await f.store.addBlocks([full.pk, roomy.pk, full.pk], f.principalPk, [block(4)]);
      expect(added.map((x) => x.collectionPk).sort((x, y) => x - y)).toEqual([roomy.pk, full.pk].sort((x, y) => x - y));
    });

    it('reads a window with exclusive begin and inclusive end, and by binding and subtype', async () => {
      const { pk } = await f.createCollection();
      const [x] = await add(pk, [block(1), block(2, { binding: STIX11 }), block(3, { subtype: 'a' }), block(4, { subtype: 'b' })]);
      const t = x!.firstUs;
      const read = (w: Window, bindings: { id: string; subtypes: string[] }[] = [], limit = 10) =>
        f.store.blocks({ collectionPk: pk, window: w, bindings }, limit);
      expect(ns(await read(Window.of(t, t + 2)))).toEqual([2, 3]);
      expect(ns(await read(Window.of(t - 1, t + 3), [], 2))).toEqual([1, 2]);
      expect(ns(await read(Window.of(t + 3, t + 3)))).toEqual([]);
      expect(ns(await read(Window.of(undefined, t + 3), [{ id: STIX11, subtypes: [] }]))).toEqual([2]);
      expect(ns(await read(Window.of(undefined, t + 3), [{ id: STIX12, subtypes: ['b'] }]))).toEqual([1, 4]);
      expect(ns(await read(Window.of(undefined, t + 3), [{ id: STIX12, subtypes: [] }]))).toEqual([1, 3, 4]);
    });

    it('opens a poll closed at the newest label, counting the matches and cutting them into parts', async () => {
      const { pk } = await f.createCollection();
      const empty = await f.store.openWindow({ collectionPk: pk, requested: { afterUs: undefined, throughUs: undefined }, bindings: [], partSize: 2 });
      expect(empty.count).toBe(0);
      const [x] = await add(pk, [block(1), block(2), block(3), block(4), block(5, { binding: STIX11 })]);
      const t = x!.firstUs;
      const open = (afterUs: number | undefined, throughUs: number | undefined, partSize = 2, bindings: { id: string; subtypes: string[] }[] = []) =>
        f.store.openWindow({ collectionPk: pk, requested: { afterUs, throughUs }, bindings, partSize });
      expect(await open(undefined, undefined)).toEqual({ window: Window.of(undefined, t + 4), count: 5, cuts: [t + 1, t + 3] });
      expect(await open(undefined, undefined, 5)).toEqual({ window: Window.of(undefined, t + 4), count: 5, cuts: [] });
      expect(await open(t, t + 1_000_000, 2)).toEqual({ window: Window.of(t, t + 4), count: 4, cuts: [t + 2] });
      expect(await open(t, t + 2)).toEqual({ window: Window.of(t, t + 2), count: 2, cuts: [] });
      expect(await open(t + 50, undefined)).toEqual({ window: Window.of(t + 50, t + 50), count: 0, cuts: [] });
      expect(await open(undefined, undefined, 1, [{ id: STIX11, subtypes: [] }])).toEqual({ window: Window.of(undefined, t + 4), count: 1, cuts: [] });
    });

    it('keeps result sets with their parts, and knows no other id', async () => {
      const { pk } = await f.createCollection();
      const parts = Window.of(undefined, 30).split([10, 20]);
      const r = {
        collectionPk: pk,
        principalPk: f.principalPk,
        subscriptionId: undefined,
        contentBindings: [{ id: STIX12, subtypes: ['a'] }],
        parts,
        recordCount: 5,
      };
      const id = await f.store.createResultSet(r, 3600);
      expect(await f.store.resultSet(id)).toEqual({ ...r, id });
      expect(await f.store.resultSet(randomUUID())).toBeUndefined();
      expect(await f.store.resultSet('not-a-result-id')).toBeUndefined();
      expect(await f.store.purgeResultSets()).toBeGreaterThanOrEqual(0);
      expect(await f.store.resultSet(id)).toBeDefined();
    });

    it('subscribes once per identical request, lists, pauses and unsubscribes', async () => {
      const { pk } = await f.createCollection();
      const first = await f.store.subscribe({
        collectionPk: pk,
        principalPk: f.principalPk,
        version: '1.0',
        responseType: 'COUNT_ONLY',
        contentBindings: [{ id: STIX12, subtypes: [] }],
        push: undefined,
        fingerprint: 'same',
      });
      expect(first.created).toBe(true);
      expect(first.row).toMatchObject({ collectionPk: pk, status: 'ACTIVE', version: '1.0', responseType: 'COUNT_ONLY', push: undefined, fingerprint: 'same' });
      const again = await f.store.subscribe({ ...first.row, fingerprint: 'same' });
      expect(again).toEqual({ row: first.row, created: false });
      const second = await subscribe(pk);
      expect(second.push).toEqual(PUSH);
      expect((await f.store.subscriptions(pk, f.principalPk)).map((s) => s.id)).toEqual([first.row.id, second.id]);
      expect(await f.store.subscriptions(pk, f.principalPk + 1000)).toEqual([]);
      await f.store.setStatus(first.row.pk, 'PAUSED');
      expect((await f.store.subscription(pk, f.principalPk, first.row.id))?.status).toBe('PAUSED');
      await f.store.unsubscribe(first.row.pk);
      expect(await f.store.subscription(pk, f.principalPk, first.row.id)).toBeUndefined();
    });

    it('queues added content for push subscriptions only, and claims it as the window of the added labels', async () => {
      const { pk } = await f.createCollection();
      const pushed = await subscribe(pk);
      const polled = await subscribe(pk, { push: undefined });
      const [a] = await add(pk, [block(1), block(2)]);
      expect(await f.store.outbox(polled.id)).toEqual([]);
      expect(await f.store.outbox(pushed.id)).toEqual([{ state: 'pending', attempts: 0, lastError: undefined, blocks: 0 }]);
      const d = await claim(pushed);
      expect(d).toMatchObject({ attempts: 0, firstFailedAtMs: undefined, window: Window.labels(a!.firstUs, a!.lastUs) });
      expect(d!.subscription).toEqual(pushed);
      // Leased: not claimed again while the lease runs.
      expect(await claim(pushed)).toBeUndefined();
      await f.store.delivered(d!, d!.window.throughUs, 2);
      expect(await f.store.outbox(pushed.id)).toEqual([{ state: 'delivered', attempts: 0, lastError: undefined, blocks: 2 }]);
      expect(await claim(pushed)).toBeUndefined();
    });

    it('folds entries queued behind an untried one into one claim, and keeps what a partial delivery left', async () => {
      const { pk } = await f.createCollection();
      const sub = await subscribe(pk);
      const [a] = await add(pk, [block(1)]);
      await add(pk, [block(2)]);
      const [c] = await add(pk, [block(3)]);
      const d = await claim(sub);
      expect(d?.window).toEqual(Window.of(a!.firstUs - 1, c!.lastUs));
      expect(await f.store.outbox(sub.id)).toHaveLength(1);
      await f.store.delivered(d!, a!.lastUs, 1);
      expect((await f.store.outbox(sub.id))[0]).toMatchObject({ state: 'pending', blocks: 1 });
      const rest = await claim(sub);
      expect(rest?.window).toEqual(d!.window.after(a!.lastUs));
    });

    it('records outcomes only under the current claim: retries, gives up, and puts given-up entries back', async () => {
      const { pk } = await f.createCollection();
      const sub = await subscribe(pk);
      await add(pk, [block(1)]);
      const d = await claim(sub, 0);
      // A claim whose token is not the entry's records nothing.
      await f.store.retryLater({ pk: d!.pk, claim: randomUUID() }, 'stale', 0);
      expect((await f.store.outbox(sub.id))[0]).toMatchObject({ attempts: 0, lastError: undefined });
      await f.store.retryLater(d!, 'the inbox answered HTTP 500', 0);
      expect((await f.store.outbox(sub.id))[0]).toMatchObject({ state: 'pending', attempts: 1, lastError: 'the inbox answered HTTP 500' });
      // A failed entry is retried alone: content added since is not folded into it.
      await add(pk, [block(2)]);
      const retry = await claim(sub);
      expect(retry).toMatchObject({ pk: d!.pk, attempts: 1, window: d!.window });
      expect(retry!.firstFailedAtMs).toEqual(expect.any(Number));
      await f.store.giveUp(retry!, 'gone');
      expect((await f.store.outbox(sub.id)).map((e) => [e.state, e.attempts, e.lastError])).toEqual([
        ['pending', 0, undefined],
        ['failed', 2, 'gone'],
      ]);
      expect(await f.store.retryFailed(sub.id)).toBe(1);
      expect((await f.store.outbox(sub.id)).map((e) => e.state)).toEqual(['pending', 'pending']);
      expect((await claim(sub))?.pk).toBe(d!.pk);
    });

    it('claims nothing for paused subscriptions, drops the entries of removed ones, and purges finished entries', async () => {
      const { pk, name: collection } = await f.createCollection();
      const paused = await subscribe(pk);
      const gone = await subscribe(pk);
      await f.store.setStatus(paused.pk, 'PAUSED');
      await add(pk, [block(1)]);
      expect(await claim(paused)).toBeUndefined();
      const report = await f.store.subscriptionReport(f.rootPath);
      expect(report.find((r) => r.id === paused.id)).toMatchObject({
        collection,
        principal: f.principalName,
        status: 'PAUSED',
        pending: 1,
        failed: 0,
        pushAddress: PUSH.address,
      });
      await f.store.unsubscribe(gone.pk);
      expect(await f.store.outbox(gone.id)).toEqual([]);
      await f.store.setStatus(paused.pk, 'ACTIVE');
      const d = await claim(paused);
      await f.store.delivered(d!, d!.window.throughUs, 1);
      const counts = await f.store.outboxCounts();
      expect(counts.pending).toBeGreaterThanOrEqual(0);
      expect(await f.store.purgeOutbox(new Date(Date.now() + 60_000))).toBeGreaterThanOrEqual(1);
      expect(await f.store.outbox(paused.id)).toEqual([]);
    });
  });
}
