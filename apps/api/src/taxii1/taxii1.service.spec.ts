import { describe, expect, it } from 'vitest';
import { loadConfig } from '@taxiway/config';
import { Window, type ApiRootInfo, type CollectionInfo, type PrincipalInfo } from '@taxiway/domain';
import { MemoryAuditSink, MemoryCatalogStore, MemoryTaxii1Store, catalogSnapshot } from '@taxiway/testing';
import {
  MESSAGE_BINDING,
  PROTOCOL_HTTP,
  PROTOCOL_HTTPS,
  type ContentBlock,
  type PollRequest,
  type SubscriptionManagementRequest,
  type Taxii1Request,
  type Taxii1Version,
} from '@taxiway/taxii1';
import { CatalogService } from '../catalog/catalog.service';
import { Taxii1Service, type PollAnswer, type Taxii1Answer, type Taxii1Call, type Taxii1ServiceName } from './taxii1.service';

const STIX12 = 'urn:stix.mitre.org:xml:1.2';
const STIX11 = 'urn:stix.mitre.org:xml:1.1.1';
const BASE = 'https://taxii.example';
/** The store's clock stands still: labels are 1_000_000_000 µs, +1, +2, … in the order content arrives. */
const T0 = 1_000_000_000;

const root: ApiRootInfo = { pk: 1, name: 'demo', path: 'demo', title: 'Demo', description: undefined, maxContentLength: 1 << 20 };
const collection = (pk: number, name: string, alias?: string): CollectionInfo => ({
  pk,
  id: `00000000-0000-4000-8000-0000000000${pk}`,
  apiRootPk: root.pk,
  name,
  alias,
  title: `${name} title`,
  description: undefined,
  mediaTypes: [],
});
const feed = collection(10, 'feed', 'feed-alias');
const dropbox = collection(11, 'dropbox');
const secret = collection(12, 'secret');
const principal = (pk: number, name: string): PrincipalInfo => ({ pk, name, displayName: undefined, passwordHash: undefined, disabled: false });
/** Writes everything but secret, which it cannot see. */
const alice = principal(100, 'alice');
/** Reads feed; may only write to dropbox (cannot read it); cannot see secret. */
const bob = principal(101, 'bob');
/** No grants at all. */
const carol = principal(102, 'carol');

async function setup(env: Record<string, string> = {}) {
  const catalog = new CatalogService(
    new MemoryCatalogStore(
      catalogSnapshot({
        roots: [root],
        collections: [feed, dropbox, secret],
        principals: [alice, bob, carol],
        rootGrants: [
          { apiRootPk: root.pk, principalPk: alice.pk, role: 'write' },
          { apiRootPk: root.pk, principalPk: bob.pk, role: 'read' },
        ],
        collectionGrants: [
          { collectionPk: secret.pk, principalPk: alice.pk, read: false, write: false },
          { collectionPk: secret.pk, principalPk: bob.pk, read: false, write: false },
          { collectionPk: dropbox.pk, principalPk: bob.pk, read: false, write: true },
        ],
      }),
    ),
    { error: () => undefined, warn: () => undefined, info: () => undefined } as never,
  );
  await catalog.reload();
  const store = new MemoryTaxii1Store({ now: () => T0 / 1000 });
  const audit = new MemoryAuditSink();
  const meter = { served: [] as { endpoint: string; objects: number }[], ingested: [] as { collection: string; objects: number }[] };
  let nudges = 0;
  const config = loadConfig({ PUBLIC_BASE_URL: BASE, TAXII1_PART_SIZE: '2', TAXII1_MAX_BLOCKS_PER_MESSAGE: '5', ...env }, []);
  const service = new Taxii1Service(store, catalog, config, {
    audit,
    meter: {
      served: (ctx, endpoint, r) => meter.served.push({ endpoint, objects: r.objects }),
      ingested: (ctx, r) => meter.ingested.push({ collection: ctx.collection.name, objects: r.objects }),
    },
    nudgePush: () => nudges++,
  });
  const call = (who: PrincipalInfo, service: Taxii1ServiceName, extra: Partial<Taxii1Call> = {}): Taxii1Call => ({ principal: who, root, service, ...extra });
  return { service, store, audit, meter, nudges: () => nudges, call };
}

type Setup = Awaited<ReturnType<typeof setup>>;

const block = (n: number, binding = STIX12): ContentBlock => ({ binding, content: `<x n="${n}"/>`, contentNs: {}, message: undefined });
const inbox = (blocks: readonly ContentBlock[], destinations: string[] = [], version: Taxii1Version = '1.1'): Taxii1Request => ({
  kind: 'inbox',
  version,
  messageId: '1',
  destinations,
  blocks,
});
const poll = (over: Partial<PollRequest> = {}): PollRequest => ({
  kind: 'poll',
  version: '1.1',
  messageId: '2',
  collectionName: 'feed',
  window: { afterUs: undefined, throughUs: undefined },
  parameters: { allowAsynch: false, responseType: 'FULL', contentBindings: [] },
  ...over,
});
const manage = (over: Partial<SubscriptionManagementRequest>): SubscriptionManagementRequest => ({
  kind: 'subscription_management',
  version: '1.1',
  messageId: '3',
  collectionName: 'feed',
  action: 'SUBSCRIBE',
  parameters: { responseType: 'FULL', contentBindings: [] },
  ...over,
});

function asPoll(a: Taxii1Answer): PollAnswer {
  if (a.kind !== 'poll_stream') throw new Error(`expected a poll answer, got ${a.kind}`);
  return a;
}

/** The `n` of every block a poll answer streams. */
async function served(s: Setup, a: Taxii1Answer): Promise<number[]> {
  const read = asPoll(a).read;
  const rows = read === undefined ? [] : await s.store.blocks(read, 1000);
  return rows.map((r) => Number(/n="(\d+)"/.exec(r.content)?.[1]));
}

async function fill(s: Setup, count: number, destination = 'feed'): Promise<void> {
  await s.service.handle(
    inbox(
      Array.from({ length: count }, (_, i) => block(i + 1)),
      [destination],
    ),
    s.call(alice, 'inbox'),
  );
}

describe('Taxii1Service', () => {
  describe('dispatch', () => {
    it('refuses a message sent to a service that does not take it, naming the right address', async () => {
      const s = await setup();
      await expect(s.service.handle(poll(), s.call(alice, 'inbox'))).rejects.toMatchObject({
        code: 'BAD_MESSAGE',
        message: expect.stringContaining(`${BASE}/taxii1/demo/poll/`) as unknown,
      });
    });
  });

  describe('discovery', () => {
    it('lists the four services of the API root at PUBLIC_BASE_URL, in the binding of the request', async () => {
      const s = await setup();
      const a = await s.service.handle({ kind: 'discovery', version: '1.0', messageId: '1' }, s.call(carol, 'discovery'));
      expect(a).toMatchObject({ kind: 'discovery_response' });
      if (a.kind !== 'discovery_response') return;
      expect(a.services.map((x) => [x.type, x.address])).toEqual([
        ['DISCOVERY', `${BASE}/taxii1/demo/discovery/`],
        ['COLLECTION_MANAGEMENT', `${BASE}/taxii1/demo/collection-management/`],
        ['INBOX', `${BASE}/taxii1/demo/inbox/`],
        ['POLL', `${BASE}/taxii1/demo/poll/`],
      ]);
      expect(a.services.every((x) => x.protocolBinding === PROTOCOL_HTTPS && x.messageBindings[0] === MESSAGE_BINDING['1.0'])).toBe(true);
    });

    it('advertises the http protocol binding when PUBLIC_BASE_URL is http', async () => {
      const s = await setup({ PUBLIC_BASE_URL: 'http://plain.example' });
      const a = await s.service.handle({ kind: 'discovery', version: '1.1', messageId: '1' }, s.call(carol, 'discovery'));
      expect(a.kind === 'discovery_response' && a.services.every((x) => x.protocolBinding === PROTOCOL_HTTP)).toBe(true);
    });
  });

  describe('collection information', () => {
    it('lists only the collections the caller can see, with the services its grants allow', async () => {
      const s = await setup();
      const a = await s.service.handle({ kind: 'collection_information', version: '1.1', messageId: '1' }, s.call(bob, 'collection-management'));
      if (a.kind !== 'collection_information_response') throw new Error(a.kind);
      expect(a.collections.map((c) => c.name)).toEqual(['feed', 'dropbox']);
      const [f, d] = a.collections;
      // feed: read only. Polling, subscriptions and push, no inbox.
      expect(f!.pollingServices.map((x) => x.address)).toEqual([`${BASE}/taxii1/demo/poll/`]);
      expect(f!.subscriptionServices).toHaveLength(1);
      expect(f!.pushMethods.map((p) => p.protocolBinding)).toEqual([PROTOCOL_HTTP, PROTOCOL_HTTPS]);
      expect(f!.receivingInboxes).toEqual([]);
      expect(f!.contentBindings).toEqual([]);
      expect(f!.description).toBe('feed title');
      // dropbox: write only. Its own inbox, nothing to poll.
      expect(d!.receivingInboxes.map((x) => x.address)).toEqual([`${BASE}/taxii1/demo/inbox/dropbox/`]);
      expect(d!.pollingServices).toEqual([]);
      expect(d!.pushMethods).toEqual([]);
    });

    it('leaves write-only collections out of a 1.0 answer, lists bindings there, and offers no push when it is disabled', async () => {
      const s = await setup({ TAXII1_PUSH_ENABLED: 'false' });
      const a = await s.service.handle({ kind: 'collection_information', version: '1.0', messageId: '1' }, s.call(bob, 'collection-management'));
      if (a.kind !== 'collection_information_response') throw new Error(a.kind);
      expect(a.collections.map((c) => c.name)).toEqual(['feed']);
      expect(a.collections[0]!.contentBindings.map((b) => b.id)).toContain(STIX12);
      expect(a.collections[0]!.pushMethods).toEqual([]);
    });

    it('answers an empty list to a caller without grants', async () => {
      const s = await setup();
      const a = await s.service.handle({ kind: 'collection_information', version: '1.1', messageId: '1' }, s.call(carol, 'collection-management'));
      expect(a).toEqual({ kind: 'collection_information_response', collections: [] });
    });
  });

  describe('inbox', () => {
    it('adds the blocks to the named collection (by name or alias), records and meters them, and wakes the push worker', async () => {
      const s = await setup();
      const a = await s.service.handle(inbox([block(1), block(2)], ['feed-alias']), s.call(alice, 'inbox'));
      expect(a).toMatchObject({ kind: 'status', type: 'SUCCESS', message: '2 content block(s) added to feed' });
      expect(s.store.stored(feed.pk).map((b) => b.labelUs)).toEqual([T0, T0 + 1]);
      expect(s.audit.entries).toMatchObject([{ action: 'add', endpoint: 'taxii1-inbox', collection: 'feed', principal: 'alice', objectCount: 2 }]);
      expect(s.meter.ingested).toEqual([{ collection: 'feed', objects: 2 }]);
      expect(s.nudges()).toBe(1);
    });

    it('adds to several destinations at once, or to the one collection the caller may write when none is named', async () => {
      const s = await setup();
      await s.service.handle(inbox([block(1)], ['feed', 'dropbox', 'feed']), s.call(alice, 'inbox'));
      expect(s.store.stored(feed.pk)).toHaveLength(1);
      expect(s.store.stored(dropbox.pk)).toHaveLength(1);
      await s.service.handle(inbox([block(2)]), s.call(bob, 'inbox'));
      expect(s.store.stored(dropbox.pk)).toHaveLength(2);
    });

    it('refuses, adding nothing, a destination the caller may not write, cannot see or that does not exist', async () => {
      const s = await setup();
      for (const d of ['feed', 'secret', 'nowhere']) {
        await expect(s.service.handle(inbox([block(1)], ['dropbox', d]), s.call(bob, 'inbox'))).rejects.toMatchObject({
          code: 'DESTINATION_COLLECTION_ERROR',
          details: [['ACCEPTABLE_DESTINATION', 'dropbox']],
        });
      }
      expect(s.store.stored(dropbox.pk)).toHaveLength(0);
    });

    it('asks for a destination when several are writable: DESTINATION_COLLECTION_ERROR in 1.1, DENIED in 1.0', async () => {
      const s = await setup();
      await expect(s.service.handle(inbox([block(1)]), s.call(alice, 'inbox'))).rejects.toMatchObject({ code: 'DESTINATION_COLLECTION_ERROR' });
      await expect(s.service.handle(inbox([block(1)], [], '1.0'), s.call(alice, 'inbox'))).rejects.toMatchObject({ code: 'DENIED' });
      await expect(s.service.handle(inbox([block(1)]), s.call(carol, 'inbox'))).rejects.toMatchObject({
        message: expect.stringContaining('any collection') as unknown,
      });
    });

    it("takes a collection's own inbox into that collection only, and only from a writer", async () => {
      const s = await setup();
      await s.service.handle(inbox([block(1)], [], '1.0'), s.call(bob, 'inbox', { inboxCollection: dropbox }));
      expect(s.store.stored(dropbox.pk)).toHaveLength(1);
      await expect(s.service.handle(inbox([block(1)], ['feed']), s.call(alice, 'inbox', { inboxCollection: dropbox }))).rejects.toMatchObject({
        code: 'DESTINATION_COLLECTION_ERROR',
      });
      await expect(s.service.handle(inbox([block(1)]), s.call(bob, 'inbox', { inboxCollection: feed }))).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    });

    it('refuses a message over TAXII1_MAX_BLOCKS_PER_MESSAGE and one that would exceed a quota, adding nothing', async () => {
      const s = await setup();
      await expect(
        s.service.handle(
          inbox(
            Array.from({ length: 6 }, (_, i) => block(i)),
            ['feed'],
          ),
          s.call(alice, 'inbox'),
        ),
      ).rejects.toMatchObject({ code: 'BAD_MESSAGE' });
      s.store.setQuota(dropbox.pk, 2);
      await fill(s, 1, 'dropbox');
      await expect(s.service.handle(inbox([block(1), block(2)], ['feed', 'dropbox']), s.call(alice, 'inbox'))).rejects.toMatchObject({
        code: 'DENIED',
        message: 'Nothing was added: collection dropbox holds at most 2 records',
      });
      expect(s.store.stored(feed.pk)).toHaveLength(0);
      expect(s.audit.entries).toHaveLength(1);
    });
  });

  describe('poll', () => {
    it('answers a window with exclusive begin and inclusive end, closed at the newest label', async () => {
      const s = await setup({ TAXII1_PART_SIZE: '100' });
      await fill(s, 5); // labels T0 … T0+4
      const a = asPoll(await s.service.handle(poll({ window: Window.requested(T0 + 1, T0 + 3) }), s.call(bob, 'poll')));
      expect(await served(s, a)).toEqual([3, 4]);
      expect(a.response).toMatchObject({ window: Window.of(T0 + 1, T0 + 3), recordCount: 2, more: false, partNumber: 1, resultId: undefined });
      const open = asPoll(await s.service.handle(poll({ window: Window.requested(T0 + 3, T0 + 1_000_000) }), s.call(bob, 'poll')));
      expect(open.response.window).toEqual(Window.of(T0 + 3, T0 + 4));
      expect(await served(s, open)).toEqual([5]);
    });

    it('answers an empty window, with nothing to read, for a begin past the newest content', async () => {
      const s = await setup();
      await fill(s, 1);
      const a = asPoll(await s.service.handle(poll({ window: Window.requested(T0 + 50, undefined) }), s.call(bob, 'poll')));
      expect(a.response.window).toEqual(Window.of(T0 + 50, T0 + 50));
      expect(a.read).toBeUndefined();
      expect(a.response.recordCount).toBe(0);
    });

    it('cuts a long result into parts of TAXII1_PART_SIZE that poll fulfilment returns, each window following the last', async () => {
      const s = await setup();
      await fill(s, 5);
      const first = asPoll(await s.service.handle(poll(), s.call(bob, 'poll')));
      expect(first.response).toMatchObject({ more: true, partNumber: 1, recordCount: 5, window: Window.of(undefined, T0 + 1) });
      expect(await served(s, first)).toEqual([1, 2]);
      const resultId = first.response.resultId!;
      const fulfil = (partNumber: number, client?: 'cabby') =>
        s.service.handle(
          { kind: 'poll_fulfillment', version: '1.1', messageId: '9', collectionName: 'feed', resultId, partNumber },
          s.call(bob, 'poll', { client }),
        );
      const second = asPoll(await fulfil(2));
      expect(second.response).toMatchObject({ more: true, partNumber: 2, window: Window.of(T0 + 1, T0 + 3) });
      expect(await served(s, second)).toEqual([3, 4]);
      const third = asPoll(await fulfil(3));
      expect(third.response).toMatchObject({ more: false, partNumber: 3, window: Window.of(T0 + 3, T0 + 4) });
      expect(await served(s, third)).toEqual([5]);
      // Content added after the poll opened is not in its result.
      await fill(s, 1);
      expect(await served(s, await fulfil(3))).toEqual([5]);
      await expect(fulfil(4)).rejects.toMatchObject({ code: 'INVALID_RESPONSE_PART', details: [['MAX_PART_NUMBER', '3']] });
      // cabby asks for the part after the last and gets an empty final part.
      const extra = asPoll(await fulfil(4, 'cabby'));
      expect(extra.response).toMatchObject({ partNumber: 4, more: false, window: Window.of(T0 + 4, T0 + 4) });
      expect(extra.read).toBeUndefined();
    });

    it('keeps result sets to the principal who polled and to the collection, and forgets unknown ones', async () => {
      const s = await setup();
      await fill(s, 3);
      const { resultId } = asPoll(await s.service.handle(poll(), s.call(bob, 'poll'))).response;
      const fulfil = (who: PrincipalInfo, collectionName: string, id = resultId!) =>
        s.service.handle({ kind: 'poll_fulfillment', version: '1.1', messageId: '9', collectionName, resultId: id, partNumber: 2 }, s.call(who, 'poll'));
      await expect(fulfil(alice, 'feed')).rejects.toMatchObject({ code: 'NOT_FOUND', details: [['ITEM', resultId]] });
      await expect(fulfil(alice, 'dropbox')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(fulfil(bob, 'feed', 'f00')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(fulfil(bob, 'feed')).resolves.toMatchObject({ kind: 'poll_stream' });
    });

    it('never pages TAXII 1.0, and counts without content for COUNT_ONLY', async () => {
      const s = await setup();
      await fill(s, 5);
      const v10 = asPoll(await s.service.handle(poll({ version: '1.0' }), s.call(bob, 'poll')));
      expect(v10.response).toMatchObject({ more: false, resultId: undefined, recordCount: 5 });
      expect(await served(s, v10)).toEqual([1, 2, 3, 4, 5]);
      const count = asPoll(
        await s.service.handle(
          poll({ window: Window.requested(T0, undefined), parameters: { allowAsynch: false, responseType: 'COUNT_ONLY', contentBindings: [] } }),
          s.call(bob, 'poll'),
        ),
      );
      expect(count.response).toMatchObject({ recordCount: 4, more: false, window: Window.of(T0, T0 + 4) });
      expect(count.read).toBeUndefined();
    });

    it('selects by content binding and subtype', async () => {
      const s = await setup();
      await s.service.handle(
        inbox([block(1), block(2, STIX11), { ...block(3), subtype: 'a' }, { ...block(4), subtype: 'b' }], ['feed']),
        s.call(alice, 'inbox'),
      );
      const bindings = async (contentBindings: { id: string; subtypes: string[] }[]) =>
        served(
          s,
          await s.service.handle(poll({ version: '1.0', parameters: { allowAsynch: false, responseType: 'FULL', contentBindings } }), s.call(bob, 'poll')),
        );
      expect(await bindings([{ id: STIX11, subtypes: [] }])).toEqual([2]);
      expect(await bindings([{ id: STIX12, subtypes: ['b'] }])).toEqual([1, 4]);
      expect(await bindings([])).toEqual([1, 2, 3, 4]);
    });

    it('polls through a subscription with its bindings and response type, and refuses unknown ones and queries', async () => {
      const s = await setup();
      await s.service.handle(inbox([block(1), block(2, STIX11)], ['feed']), s.call(alice, 'inbox'));
      const sub = await s.service.handle(
        manage({ parameters: { responseType: 'FULL', contentBindings: [{ id: STIX11, subtypes: [] }] } }),
        s.call(bob, 'collection-management'),
      );
      if (sub.kind !== 'subscription_management_response') throw new Error(sub.kind);
      const subscriptionId = sub.subscriptions[0]!.id;
      const a = await s.service.handle(poll({ subscriptionId, parameters: undefined }), s.call(bob, 'poll'));
      expect(asPoll(a).response.subscriptionId).toBe(subscriptionId);
      expect(await served(s, a)).toEqual([2]);
      await expect(s.service.handle(poll({ subscriptionId, parameters: undefined }), s.call(alice, 'poll'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(
        s.service.handle(poll({ parameters: { allowAsynch: false, responseType: 'FULL', contentBindings: [], queryFormat: 'urn:q' } }), s.call(bob, 'poll')),
      ).rejects.toMatchObject({ code: 'UNSUPPORTED_QUERY' });
    });

    it('refuses to poll what the caller may not read: NOT_FOUND when it cannot see it, UNAUTHORIZED when it can', async () => {
      const s = await setup();
      await expect(s.service.handle(poll({ collectionName: 'secret' }), s.call(bob, 'poll'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(s.service.handle(poll({ collectionName: 'nowhere' }), s.call(bob, 'poll'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(s.service.handle(poll({ collectionName: 'dropbox' }), s.call(bob, 'poll'))).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    });

    it('audits and meters a poll once its blocks are streamed', async () => {
      const s = await setup();
      await fill(s, 3);
      const a = asPoll(await s.service.handle(poll(), s.call(bob, 'poll')));
      a.served(2);
      expect(s.meter.served).toEqual([{ endpoint: 'taxii1_poll', objects: 2 }]);
      expect(s.audit.entries.at(-1)).toMatchObject({
        action: 'read',
        endpoint: 'taxii1-poll',
        principal: 'bob',
        objectCount: 2,
        detail: `part=1 result=${a.response.resultId}`,
      });
    });
  });

  describe('subscription management', () => {
    const push = (address: string, protocolBinding = PROTOCOL_HTTPS) => ({
      protocolBinding,
      address,
      messageBinding: MESSAGE_BINDING['1.1'],
      contentBindings: [],
    });

    it('subscribes, returning the same subscription for an identical request, and reports it with its poll service', async () => {
      const s = await setup();
      const first = await s.service.handle(manage({}), s.call(bob, 'collection-management'));
      const again = await s.service.handle(manage({}), s.call(bob, 'collection-management'));
      if (first.kind !== 'subscription_management_response' || again.kind !== 'subscription_management_response') throw new Error('not a response');
      expect(again.subscriptions[0]!.id).toBe(first.subscriptions[0]!.id);
      expect(first.subscriptions[0]).toMatchObject({
        status: 'ACTIVE',
        parameters: { responseType: 'FULL', contentBindings: [] },
        push: undefined,
        pollInstances: [{ address: `${BASE}/taxii1/demo/poll/` }],
      });
      const other = await s.service.handle(manage({ parameters: { responseType: 'COUNT_ONLY', contentBindings: [] } }), s.call(bob, 'collection-management'));
      expect(other.kind === 'subscription_management_response' && other.subscriptions[0]!.id).not.toBe(first.subscriptions[0]!.id);
    });

    it('pauses, resumes (waking the push worker), reports status and unsubscribes', async () => {
      const s = await setup();
      const created = await s.service.handle(manage({}), s.call(bob, 'collection-management'));
      if (created.kind !== 'subscription_management_response') throw new Error(created.kind);
      const subscriptionId = created.subscriptions[0]!.id;
      /** `null` = no Subscription_ID (STATUS of all). */
      const act = async (action: SubscriptionManagementRequest['action'], id: string | null = subscriptionId) => {
        const a = await s.service.handle(manage({ action, subscriptionId: id ?? undefined, parameters: undefined }), s.call(bob, 'collection-management'));
        if (a.kind !== 'subscription_management_response') throw new Error(a.kind);
        return a.subscriptions;
      };
      expect((await act('PAUSE'))[0]!.status).toBe('PAUSED');
      expect((await act('STATUS'))[0]!.status).toBe('PAUSED');
      expect(s.nudges()).toBe(0);
      expect((await act('RESUME'))[0]!.status).toBe('ACTIVE');
      expect(s.nudges()).toBe(1);
      expect((await act('STATUS', null)).map((x) => x.id)).toEqual([subscriptionId]);
      expect((await act('UNSUBSCRIBE'))[0]).toMatchObject({ id: subscriptionId, status: 'UNSUBSCRIBED', parameters: { responseType: 'FULL' } });
      expect(await act('STATUS', null)).toEqual([]);
      // Unsubscribing again succeeds and changes nothing; other actions on it find nothing.
      expect((await act('UNSUBSCRIBE'))[0]!.status).toBe('UNSUBSCRIBED');
      await expect(act('PAUSE')).rejects.toMatchObject({ code: 'NOT_FOUND', details: [['ITEM', subscriptionId]] });
    });

    it('keeps subscriptions to the principal that made them', async () => {
      const s = await setup();
      const created = await s.service.handle(manage({}), s.call(bob, 'collection-management'));
      if (created.kind !== 'subscription_management_response') throw new Error(created.kind);
      const id = created.subscriptions[0]!.id;
      await expect(
        s.service.handle(manage({ action: 'STATUS', subscriptionId: id, parameters: undefined }), s.call(alice, 'collection-management')),
      ).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(s.service.handle(manage({ collectionName: 'dropbox' }), s.call(bob, 'collection-management'))).rejects.toMatchObject({
        code: 'UNAUTHORIZED',
      });
    });

    it('takes push parameters it can serve and shows them in 1.1 answers, and in 1.0 only in STATUS answers', async () => {
      const s = await setup();
      const a = await s.service.handle(manage({ push: push('https://inbox.example.org/in') }), s.call(bob, 'collection-management'));
      if (a.kind !== 'subscription_management_response') throw new Error(a.kind);
      expect(a.subscriptions[0]!.push).toMatchObject({ address: 'https://inbox.example.org/in', protocolBinding: PROTOCOL_HTTPS });
      const v10 = await s.service.handle(
        manage({ version: '1.0', parameters: undefined, push: push('https://inbox.example.org/ten') }),
        s.call(bob, 'collection-management'),
      );
      if (v10.kind !== 'subscription_management_response') throw new Error(v10.kind);
      expect(v10.subscriptions[0]!.push).toBeUndefined();
      const status = await s.service.handle(
        manage({ version: '1.0', action: 'STATUS', subscriptionId: v10.subscriptions[0]!.id, parameters: undefined }),
        s.call(bob, 'collection-management'),
      );
      expect(status.kind === 'subscription_management_response' && status.subscriptions[0]!.push?.address).toBe('https://inbox.example.org/ten');
    });

    it('refuses push parameters it cannot serve', async () => {
      const s = await setup({ TAXII1_PUSH_ALLOWED_HOSTS: 'inbox.example.org' });
      const refused = (p: ReturnType<typeof push>) => s.service.handle(manage({ push: p }), s.call(bob, 'collection-management'));
      await expect(refused(push('https://inbox.example.org/x', 'urn:smtp'))).rejects.toMatchObject({ code: 'UNSUPPORTED_PROTOCOL' });
      await expect(refused(push('http://inbox.example.org/x'))).rejects.toMatchObject({ code: 'UNSUPPORTED_PROTOCOL' });
      await expect(refused({ ...push('https://inbox.example.org/x'), messageBinding: 'urn:json' })).rejects.toMatchObject({ code: 'UNSUPPORTED_MESSAGE' });
      await expect(refused(push('not a url'))).rejects.toMatchObject({ code: 'BAD_MESSAGE' });
      await expect(refused(push('https://elsewhere.example.org/x'))).rejects.toMatchObject({ code: 'DENIED' });
      await expect(
        s.service.handle(manage({ parameters: { responseType: 'FULL', contentBindings: [], queryFormat: 'urn:q' } }), s.call(bob, 'collection-management')),
      ).rejects.toMatchObject({ code: 'UNSUPPORTED_QUERY' });
      const off = await setup({ TAXII1_PUSH_ENABLED: 'false' });
      await expect(off.service.handle(manage({ push: push('https://inbox.example.org/x') }), off.call(bob, 'collection-management'))).rejects.toMatchObject({
        code: 'DENIED',
      });
    });
  });
});
