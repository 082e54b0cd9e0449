import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueApiKey } from '@taxiway/auth';
import { SqlAdminStore } from '@taxiway/store';
import type { DesiredState } from '@taxiway/domain';
import { basic, client, startServer, type RunningServer } from '../../../test/support/server';
import {
  LABEL_RE,
  NS10,
  NS11,
  STIX12,
  STIX21,
  blocks,
  child,
  children,
  collectionInfo,
  discovery,
  fulfillment,
  inbox,
  mid,
  poll,
  post,
  received,
  schemaErrors,
  status,
  subscription,
  type T1Res,
} from '../../../test/support/taxii1';
import { indicator, indicatorId, RW, STATE } from './fixture';

const SMALL = '44444444-4444-4444-8444-444444444444';
const PARTS = '55555555-5555-4555-8555-555555555555';

/** The shared two-tenant fixture plus a collection with a quota of 2 and one for multi-part polling. */
const STATE1: DesiredState = {
  ...STATE,
  collections: [
    ...STATE.collections,
    {
      name: 'small',
      apiRoot: 'tenant-a',
      id: SMALL,
      alias: undefined,
      title: 'Small',
      description: undefined,
      mediaTypes: ['application/stix+json;version=2.1'],
      deletionPolicy: 'Delete',
      maxObjects: 2,
      grants: [{ principal: 'alice', read: true, write: true }],
    },
    {
      name: 'parts',
      apiRoot: 'tenant-a',
      id: PARTS,
      alias: undefined,
      title: 'Parts',
      description: undefined,
      mediaTypes: ['application/stix+json;version=2.1'],
      deletionPolicy: 'Delete',
      grants: [
        { principal: 'alice', read: true, write: true },
        { principal: 'bob', read: true, write: false },
      ],
    },
  ],
};

const A = '/taxii1/tenant-a';
const alice = basic('alice');

const pkg = (n: number | string): string => `<stix:STIX_Package xmlns:stix="http://stix.mitre.org/stix-1" id="example:Package-${n}" version="1.2"/>`;

describe('TAXII 1.x services over HTTP (PostgreSQL)', () => {
  let s: RunningServer;

  beforeAll(async () => {
    s = await startServer(STATE1, {
      realBaseUrl: true,
      env: { TAXII1_PART_SIZE: '3', TAXII1_MAX_ELEMENTS: '5000', AUTH_FAILURES_PER_MINUTE_PER_ADDRESS: '100000', AUTH_FAILURES_PER_MINUTE_PER_USER: '100000' },
    });
  });
  afterAll(async () => {
    await s?.close();
  });

  const call = (path: string, body: string, opts: Parameters<typeof post>[3] = {}): Promise<T1Res> => post(s.url, path, body, { auth: alice, ...opts });
  const pollBlocks = async (collection: string, o: Parameters<typeof poll>[1] = {}, auth = alice): Promise<T1Res> => {
    const r = await call(`${A}/poll/`, poll(collection, o), { auth, v: o.v ?? '1.1' });
    expect(r.root?.local, r.text.slice(0, 500)).toBe('Poll_Response');
    return r;
  };

  /** Polls and follows every part (TAXII1_PART_SIZE is 3 here): all blocks in order, and the parts. */
  const pollAll = async (collection: string, o: Parameters<typeof poll>[1] = {}): Promise<{ blocks: ReturnType<typeof blocks>; parts: T1Res[] }> => {
    const parts = [await pollBlocks(collection, o)];
    for (let n = 2; parts.at(-1)!.root?.attrs.get('more') === 'true'; n++) {
      parts.push(await call(`${A}/poll/`, fulfillment(collection, parts[0]!.root!.attrs.get('result_id')!, n)));
    }
    return { blocks: parts.flatMap((p) => blocks(p)), parts };
  };

  describe('discovery and collection information', () => {
    it('lists one service of each type in 1.1, with absolute addresses, and answers in_response_to the request', async () => {
      const id = mid();
      const r = await call(`${A}/discovery/`, discovery('1.1', id));
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe('application/xml');
      expect(r.headers.get('x-taxii-content-type')).toBe('urn:taxii.mitre.org:message:xml:1.1');
      expect(r.headers.get('x-taxii-services')).toBe('urn:taxii.mitre.org:services:1.1');
      expect(r.headers.get('x-taxii-protocol')).toBe('urn:taxii.mitre.org:protocol:http:1.0');
      expect(r.headers.get('x-taxii-accept')).toBeNull();
      expect(r.root?.ns).toBe(NS11);
      expect(r.root?.attrs.get('in_response_to')).toBe(id);
      const services = children(r.root, 'Service_Instance').map((si) => [
        si.attrs.get('service_type'),
        si.attrs.get('service_version'),
        child(si, 'Address')?.text,
      ]);
      expect(services).toEqual([
        ['DISCOVERY', 'urn:taxii.mitre.org:services:1.1', `${s.url}${A}/discovery/`],
        ['COLLECTION_MANAGEMENT', 'urn:taxii.mitre.org:services:1.1', `${s.url}${A}/collection-management/`],
        ['INBOX', 'urn:taxii.mitre.org:services:1.1', `${s.url}${A}/inbox/`],
        ['POLL', 'urn:taxii.mitre.org:services:1.1', `${s.url}${A}/poll/`],
      ]);
    });

    it('answers a 1.0 request in 1.0: FEED_MANAGEMENT, services:1.0, a numeric message id', async () => {
      const r = await call(`${A}/discovery/`, discovery('1.0', '42'), { v: '1.0' });
      expect(r.root?.ns).toBe(NS10);
      expect(r.headers.get('x-taxii-content-type')).toBe('urn:taxii.mitre.org:message:xml:1.0');
      expect(r.headers.get('x-taxii-services')).toBe('urn:taxii.mitre.org:services:1.0');
      expect(r.root?.attrs.get('message_id')).toMatch(/^[0-9]+$/);
      expect(r.root?.attrs.get('in_response_to')).toBe('42');
      expect(children(r.root, 'Service_Instance').map((si) => si.attrs.get('service_type'))).toEqual(['DISCOVERY', 'FEED_MANAGEMENT', 'INBOX', 'POLL']);
    });

    it('lists the collections the caller can see with polling, subscription and receiving-inbox services by grant', async () => {
      const r = await call(`${A}/collection-management/`, collectionInfo());
      const cols = children(r.root, 'Collection').map((c) => ({
        name: c.attrs.get('collection_name'),
        type: c.attrs.get('collection_type'),
        poll: children(c, 'Polling_Service').length,
        sub: children(c, 'Subscription_Service').length,
        inbox: child(child(c, 'Receiving_Inbox_Service'), 'Address')?.text,
        push: children(c, 'Push_Method').length,
      }));
      expect(cols).toEqual([
        { name: 'rw', type: 'DATA_FEED', poll: 1, sub: 1, inbox: `${s.url}${A}/inbox/rw/`, push: 2 },
        { name: 'ro', type: 'DATA_FEED', poll: 1, sub: 1, inbox: undefined, push: 2 },
        { name: 'small', type: 'DATA_FEED', poll: 1, sub: 1, inbox: `${s.url}${A}/inbox/small/`, push: 2 },
        { name: 'parts', type: 'DATA_FEED', poll: 1, sub: 1, inbox: `${s.url}${A}/inbox/parts/`, push: 2 },
      ]);
      // carol may only write rw: a drop box, with an inbox and nothing to poll.
      const carol = await call(`${A}/collection-management/`, collectionInfo(), { auth: basic('carol') });
      const only = children(carol.root, 'Collection');
      expect(only.map((c) => [c.attrs.get('collection_name'), children(c, 'Polling_Service').length, children(c, 'Receiving_Inbox_Service').length])).toEqual([
        ['rw', 0, 1],
      ]);
    });

    it('lists 1.0 feeds with content bindings (the 1.0 schema requires one) and leaves out drop boxes', async () => {
      const r = await call(`${A}/collection-management/`, collectionInfo('1.0'), { v: '1.0' });
      expect(r.root?.local).toBe('Feed_Information_Response');
      const feeds = children(r.root, 'Feed');
      expect(feeds.map((f) => f.attrs.get('feed_name'))).toEqual(['rw', 'ro', 'small', 'parts']);
      expect(children(feeds[0], 'Content_Binding').map((c) => c.text)).toContain(STIX12);
      const carol = await call(`${A}/collection-management/`, collectionInfo('1.0'), { auth: basic('carol'), v: '1.0' });
      expect(children(carol.root, 'Feed')).toEqual([]);
    });
  });

  describe('HTTP binding and headers', () => {
    it('answers GET with 405 and Allow: POST, still as a TAXII message with the X-TAXII headers', async () => {
      const r = await fetch(`${s.url}${A}/poll/`, { headers: { authorization: alice } });
      expect(r.status).toBe(405);
      expect(r.headers.get('allow')).toBe('POST');
      expect(r.headers.get('x-taxii-content-type')).toBe('urn:taxii.mitre.org:message:xml:1.1');
      expect(await r.text()).toContain('status_type="BAD_MESSAGE"');
    });

    it('answers an address that is no service with NOT_FOUND as TAXII, and OPTIONS with Allow', async () => {
      const r = await call(`${A}/no-such-service/`, discovery());
      expect(r.status).toBe(404);
      expect(r.headers.get('x-taxii-content-type')).toBe('urn:taxii.mitre.org:message:xml:1.1');
      expect(status(r).type).toBe('NOT_FOUND');
      const o = await fetch(`${s.url}${A}/poll/`, { method: 'OPTIONS' });
      expect([o.status, o.headers.get('allow')]).toEqual([204, 'POST, OPTIONS']);
    });

    it.each([
      ['a missing X-TAXII-Content-Type', { 'x-taxii-content-type': undefined }, 'UNSUPPORTED_MESSAGE'],
      ['an unknown message binding', { 'x-taxii-content-type': 'urn:cert.europa.eu:message:json:1.0' }, 'UNSUPPORTED_MESSAGE'],
      ['a missing X-TAXII-Services', { 'x-taxii-services': undefined }, 'UNSUPPORTED_MESSAGE'],
      ['mismatched binding and services versions', { 'x-taxii-services': 'urn:taxii.mitre.org:services:1.0' }, 'UNSUPPORTED_MESSAGE'],
      ['an X-TAXII-Accept without a binding we write', { 'x-taxii-accept': 'urn:cert.europa.eu:message:json:1.0' }, 'UNSUPPORTED_MESSAGE'],
      ['an unknown protocol binding', { 'x-taxii-protocol': 'urn:example.com:protocol:smtp:1.0' }, 'UNSUPPORTED_PROTOCOL'],
      ['a JSON Content-Type', { 'content-type': 'application/json' }, 'UNSUPPORTED_MESSAGE'],
    ])('refuses %s with a Status Message in HTTP 200', async (_what, headers, type) => {
      const r = await call(`${A}/discovery/`, discovery(), { headers });
      expect(r.status).toBe(200);
      expect(r.headers.get('x-taxii-content-type')).toBe('urn:taxii.mitre.org:message:xml:1.1');
      expect(status(r).type).toBe(type);
      if (type === 'UNSUPPORTED_MESSAGE')
        expect(status(r).details['SUPPORTED_BINDING']).toEqual(['urn:taxii.mitre.org:message:xml:1.1', 'urn:taxii.mitre.org:message:xml:1.0']);
    });

    it('answers in the first message binding of X-TAXII-Accept it writes', async () => {
      const r = await call(`${A}/discovery/`, discovery('1.1', '77'), {
        headers: { 'x-taxii-accept': 'urn:cert.europa.eu:message:json:1.0 urn:taxii.mitre.org:message:xml:1.0 urn:taxii.mitre.org:message:xml:1.1' },
      });
      expect(r.headers.get('x-taxii-content-type')).toBe('urn:taxii.mitre.org:message:xml:1.0');
      expect(r.root?.ns).toBe(NS10);
      expect(r.root?.attrs.get('in_response_to')).toBe('77');
      expect(children(r.root, 'Service_Instance').map((si) => si.attrs.get('service_type'))).toContain('FEED_MANAGEMENT');
      // A 1.0 answer carries digits only: a 1.1 message id that is not digits gets the next accepted
      // binding that can echo it, and in_response_to 0 only when no accepted binding can.
      const both = await call(`${A}/discovery/`, discovery('1.1', 'a-uuid'), {
        headers: { 'x-taxii-accept': 'urn:taxii.mitre.org:message:xml:1.0 urn:taxii.mitre.org:message:xml:1.1' },
      });
      expect([both.root?.ns, both.root?.attrs.get('in_response_to')]).toEqual([NS11, 'a-uuid']);
      const only10 = await call(`${A}/discovery/`, discovery('1.1', 'a-uuid'), { headers: { 'x-taxii-accept': 'urn:taxii.mitre.org:message:xml:1.0' } });
      expect([only10.root?.ns, only10.root?.attrs.get('in_response_to')]).toEqual([NS10, '0']);
    });

    it('answers 406 when Accept excludes application/xml, with the X-TAXII headers', async () => {
      const r = await call(`${A}/discovery/`, discovery(), { headers: { accept: 'application/json' } });
      expect(r.status).toBe(406);
      expect(status(r).type).toBe('UNSUPPORTED_MESSAGE');
    });

    it('accepts header names in any case, application/xml with a charset and no X-TAXII-Protocol (libtaxii, other clients)', async () => {
      const r = await fetch(`${s.url}${A}/discovery/`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/xml; charset=utf-8',
          'X-Taxii-Content-Type': 'urn:taxii.mitre.org:message:xml:1.1',
          'X-Taxii-Services': 'urn:taxii.mitre.org:services:1.1',
          Authorization: alice,
        },
        body: discovery(),
      });
      expect(await r.text()).toContain('Discovery_Response');
    });
  });

  describe('authentication and tenancy', () => {
    it('answers UNAUTHORIZED (HTTP 200) in the request version when credentials are missing or wrong, echoing the message id', async () => {
      for (const v of ['1.1', '1.0'] as const) {
        const id = mid(v);
        const none = await post(s.url, `${A}/discovery/`, discovery(v, id), { v });
        expect(none.status).toBe(200);
        expect(none.root?.ns).toBe(v === '1.1' ? NS11 : NS10);
        expect(status(none)).toMatchObject({ type: 'UNAUTHORIZED', inResponseTo: id });
        const wrong = await post(s.url, `${A}/poll/`, poll('rw', { v }), { v, auth: basic('alice', 'nope') });
        expect(status(wrong).type).toBe('UNAUTHORIZED');
      }
    });

    it('answers UNAUTHORIZED before reading a malformed message from an unauthenticated caller', async () => {
      const r = await post(s.url, `${A}/inbox/`, '<not xml');
      expect(status(r)).toMatchObject({ type: 'UNAUTHORIZED', inResponseTo: '0' });
    });

    it('accepts API keys and tokens from the JWT login endpoint (cabby --jwt-auth), JSON or form', async () => {
      const key = await issueApiKey();
      const admin = new SqlAdminStore(s.server.database.dataSource);
      await admin.insertApiKey({ id: key.id, principal: 'alice', secretHash: key.secretHash });
      await s.server.catalog.reload();
      expect((await call(`${A}/discovery/`, discovery(), { auth: `Bearer ${key.key}` })).root?.local).toBe('Discovery_Response');

      const login = await fetch(`${s.url}/taxii1/auth`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'alice', password: 'alice-pw' }),
      });
      expect(login.status).toBe(200);
      const { token } = (await login.json()) as { token: string };
      expect((await call(`${A}/discovery/`, discovery(), { auth: `Bearer ${token}` })).root?.local).toBe('Discovery_Response');
      const form = await fetch(`${s.url}/management/auth`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'username=alice&password=alice-pw',
      });
      expect(form.status).toBe(200);

      const bad = await fetch(`${s.url}/taxii1/auth`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'alice', password: 'x' }),
      });
      expect(bad.status).toBe(401);
      const forged = `${token.split('.').slice(0, 2).join('.')}.AAAA`;
      expect(status(await call(`${A}/discovery/`, discovery(), { auth: `Bearer ${forged}` })).type).toBe('UNAUTHORIZED');
    });

    it("answers another tenant's API root exactly like one that does not exist", async () => {
      const id = 'same-id';
      const foreign = await post(s.url, '/taxii1/tenant-a/discovery/', discovery('1.1', id), { auth: basic('mallory') });
      const missing = await post(s.url, '/taxii1/no-such-root/discovery/', discovery('1.1', id), { auth: basic('mallory') });
      expect(status(foreign).type).toBe('NOT_FOUND');
      const strip = (t: string): string => t.replace(/message_id="[^"]*"/, '').replace(/tenant-a|no-such-root/g, 'X');
      expect(strip(foreign.text)).toBe(strip(missing.text));
    });

    it("never shows another tenant's collections, and answers them as unknown names", async () => {
      const r = await post(s.url, '/taxii1/tenant-b/poll/', poll('rw'), { auth: basic('mallory') });
      expect(status(r)).toMatchObject({ type: 'NOT_FOUND', details: { ITEM: ['rw'] } });
      const ci = await post(s.url, '/taxii1/tenant-b/collection-management/', collectionInfo(), { auth: basic('mallory') });
      expect(children(ci.root, 'Collection').map((c) => c.attrs.get('collection_name'))).toEqual(['b1']);
    });

    it('lets a write-only member push to a drop box but not poll it', async () => {
      const pushed = await call(`${A}/inbox/rw/`, inbox([{ content: pkg('carol') }]), { auth: basic('carol') });
      expect(status(pushed).type).toBe('SUCCESS');
      const polled = await call(`${A}/poll/`, poll('rw'), { auth: basic('carol') });
      expect(status(polled).type).toBe('UNAUTHORIZED');
    });
  });

  describe('hostile and malformed messages', () => {
    const billionLaughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]><taxii_11:Discovery_Request xmlns:taxii_11="${NS11}" message_id="1">&lol9;</taxii_11:Discovery_Request>`;
    const xxe = `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><taxii_11:Discovery_Request xmlns:taxii_11="${NS11}" message_id="1">&x;</taxii_11:Discovery_Request>`;
    const externalDtd = `<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://127.0.0.1:1/evil.dtd"><taxii_11:Discovery_Request xmlns:taxii_11="${NS11}" message_id="1"/>`;
    const deep = `<taxii_11:Inbox_Message xmlns:taxii_11="${NS11}" message_id="1"><taxii_11:Content_Block><taxii_11:Content_Binding binding_id="x"/><taxii_11:Content>${'<a>'.repeat(500)}${'</a>'.repeat(500)}</taxii_11:Content></taxii_11:Content_Block></taxii_11:Inbox_Message>`;
    const wide = `<taxii_11:Inbox_Message xmlns:taxii_11="${NS11}" message_id="1"><taxii_11:Content_Block><taxii_11:Content_Binding binding_id="x"/><taxii_11:Content><r>${'<a/>'.repeat(6000)}</r></taxii_11:Content></taxii_11:Content_Block></taxii_11:Inbox_Message>`;

    it.each([
      ['a billion-laughs entity expansion', billionLaughs],
      ['an external entity (XXE)', xxe],
      ['an external DTD', externalDtd],
      ['nesting deeper than TAXII1_MAX_DEPTH', deep],
      ['more elements than TAXII1_MAX_ELEMENTS', wide],
      ['text that is not XML', 'hello'],
      ['unclosed markup', `<taxii_11:Discovery_Request xmlns:taxii_11="${NS11}" message_id="1">`],
      ['an undeclared entity', `<taxii_11:Discovery_Request xmlns:taxii_11="${NS11}" message_id="1">&nbsp;</taxii_11:Discovery_Request>`],
      ['a non-UTF-8 encoding', `<?xml version="1.0" encoding="ISO-8859-1"?><taxii_11:Discovery_Request xmlns:taxii_11="${NS11}" message_id="1"/>`],
      ['a root that is no TAXII message', `<foo xmlns="urn:x" message_id="1"/>`],
      ['a 1.0 message under 1.1 headers', `<taxii:Discovery_Request xmlns:taxii="${NS10}" message_id="1"/>`],
      ['a missing message_id', `<taxii_11:Discovery_Request xmlns:taxii_11="${NS11}"/>`],
    ])('answers %s with BAD_MESSAGE, quickly, and stores nothing', async (_what, body) => {
      const path = body.includes('Inbox_Message') ? `${A}/inbox/rw/` : `${A}/discovery/`;
      const before = await countBlocks(s, 'rw');
      const t0 = performance.now();
      const r = await call(path, body);
      expect(performance.now() - t0).toBeLessThan(2000);
      expect(r.status).toBe(200);
      expect(status(r).type).toBe('BAD_MESSAGE');
      expect(status(r).message?.length).toBeGreaterThan(5);
      expect(await countBlocks(s, 'rw')).toBe(before);
    });

    it.each([
      [
        'a Poll_Request with both Subscription_ID and Poll_Parameters',
        `<taxii_11:Poll_Request xmlns:taxii_11="${NS11}" message_id="m1" collection_name="rw"><taxii_11:Subscription_ID>x</taxii_11:Subscription_ID><taxii_11:Poll_Parameters/></taxii_11:Poll_Request>`,
        '/poll/',
      ],
      ['a Poll_Request with neither', `<taxii_11:Poll_Request xmlns:taxii_11="${NS11}" message_id="m1" collection_name="rw"/>`, '/poll/'],
      [
        'children out of schema order',
        `<taxii_11:Poll_Request xmlns:taxii_11="${NS11}" message_id="m1" collection_name="rw"><taxii_11:Inclusive_End_Timestamp>2026-01-01T00:00:00Z</taxii_11:Inclusive_End_Timestamp><taxii_11:Exclusive_Begin_Timestamp>2025-01-01T00:00:00Z</taxii_11:Exclusive_Begin_Timestamp><taxii_11:Poll_Parameters/></taxii_11:Poll_Request>`,
        '/poll/',
      ],
      ['an end label not after the begin label', poll('rw', { id: 'm1', begin: '2026-01-01T00:00:00.000001Z', end: '2026-01-01T00:00:00.000001Z' }), '/poll/'],
      ['a label without a time zone', poll('rw', { id: 'm1', begin: '2026-01-01T00:00:00' }), '/poll/'],
      ['a label with seven fractional digits', poll('rw', { id: 'm1', begin: '2026-01-01T00:00:00.1234567Z' }), '/poll/'],
      [
        'a Content_Block without Content',
        `<taxii_11:Inbox_Message xmlns:taxii_11="${NS11}" message_id="m1"><taxii_11:Content_Block><taxii_11:Content_Binding binding_id="x"/></taxii_11:Content_Block></taxii_11:Inbox_Message>`,
        '/inbox/rw/',
      ],
      [
        'a Record_Count below the number of blocks',
        inbox([{ content: 'a' }, { content: 'b' }], { id: 'm1', extra: '' }).replace(
          '\n<taxii_11:Content_Block>',
          '<taxii_11:Record_Count>1</taxii_11:Record_Count>\n<taxii_11:Content_Block>',
        ),
        '/inbox/rw/',
      ],
      ['a message for another service', discovery('1.1', 'm1'), '/poll/'],
    ])('answers %s with BAD_MESSAGE in response to its id', async (_what, body, path) => {
      const r = await call(`${A}${path}`, body);
      expect(status(r)).toMatchObject({ type: 'BAD_MESSAGE', inResponseTo: 'm1' });
    });

    it('answers a 1.0 message id that is not digits with BAD_MESSAGE', async () => {
      const r = await call(`${A}/discovery/`, discovery('1.0', 'abc'), { v: '1.0' });
      expect(status(r).type).toBe('BAD_MESSAGE');
      expect(r.root?.ns).toBe(NS10);
    });

    it("refuses a message over the API root's max_content_length with HTTP 413 and BAD_MESSAGE", async () => {
      const r = await call(`${A}/inbox/rw/`, inbox([{ content: 'x'.repeat(60_000) }]));
      expect(r.status).toBe(413);
      expect(status(r).type).toBe('BAD_MESSAGE');
    });
  });

  describe('inbox and poll', () => {
    it('stores content blocks byte for byte and serves them back byte for byte, with binding, subtype and a server label', async () => {
      const contents = [
        `<stix:STIX_Package xmlns:stix="http://stix.mitre.org/stix-1" id="example:Package-x" version="1.2">\n\t  <stix:Title>Straße &amp; «ünïcödé» 💥 &#x41;</stix:Title>  <!-- a comment -->\n<![CDATA[ <not markup> ]]></stix:STIX_Package>`,
        `\n  <stix:STIX_Package xmlns:stix="http://stix.mitre.org/stix-1" id='single-quoted'   version = "1.2"  />\n  `,
        `{"type": "indicator", "name": "&lt;json text&gt; &amp; quotes \\" '"}`,
        `<ind:Indicator xmlns:ind="urn:ind" uses-prefix-from-the-message="yes"><stix:Ref/></ind:Indicator>`,
      ];
      const body = inbox(
        contents.map((c, i) => ({
          content: c,
          binding: i === 2 ? 'urn:example.com:json' : STIX12,
          ...(i === 0 && { subtype: 'urn:example.com:subtype:a' }),
          label: '2001-01-01T00:00:00Z',
        })),
        { dest: ['parts'] },
      ).replace(`xmlns:taxii_11="${NS11}"`, `xmlns:taxii_11="${NS11}" xmlns:stix="http://stix.mitre.org/stix-1"`);
      expect(status(await call(`${A}/inbox/`, body)).type).toBe('SUCCESS');
      const { blocks: got, parts } = await pollAll('parts');
      const r = parts[1]!;
      expect(got.map((b) => b.raw)).toEqual(contents);
      expect(got.map((b) => b.binding)).toEqual([STIX12, STIX12, 'urn:example.com:json', STIX12]);
      expect(got[0]!.subtype).toBe('urn:example.com:subtype:a');
      for (const b of got) {
        expect(b.label).toMatch(LABEL_RE);
        expect(b.label).not.toBe('2001-01-01T00:00:00.000000Z');
      }
      // The prefix the fourth block borrowed from the message is declared on its Content element.
      expect(r.text).toMatch(/<taxii_11:Content[^>]*xmlns:stix="http:\/\/stix.mitre.org\/stix-1"[^>]*><ind:Indicator/);
      expect(child(r.root, 'Record_Count')?.text).toBe('4');
      expect(parts.map((p) => blocks(p).length)).toEqual([3, 1]);
    });

    it('takes the begin label as exclusive and the end label as inclusive, at microsecond precision', async () => {
      const before = (await pollAll('rw')).blocks.length;
      for (let i = 0; i < 3; i++) expect(status(await call(`${A}/inbox/rw/`, inbox([{ content: pkg(`w${i}`) }]))).type).toBe('SUCCESS');
      const all = (await pollAll('rw')).blocks;
      expect(all.length).toBe(before + 3);
      const labels = all.slice(-3).map((b) => b.label!);
      expect(new Set(labels).size).toBe(3);
      const mid1 = await pollBlocks('rw', { begin: labels[0], end: labels[1] });
      expect(blocks(mid1).map((b) => b.label)).toEqual([labels[1]]);
      expect(child(mid1.root, 'Exclusive_Begin_Timestamp')?.text).toBe(labels[0]);
      expect(child(mid1.root, 'Inclusive_End_Timestamp')?.text).toBe(labels[1]);
      // One microsecond before a label includes it; the label itself as the begin excludes it.
      const us = (l: string): string => l.replace(/\.(\d{6})Z$/, (_m, f: string) => `.${String(Number(f) - 1).padStart(6, '0')}Z`);
      if (!labels[2]!.endsWith('.000000Z')) expect(blocks(await pollBlocks('rw', { begin: us(labels[2]!) })).map((b) => b.label)).toEqual([labels[2]]);
      expect(blocks(await pollBlocks('rw', { begin: labels[2] }))).toEqual([]);
      // The same instant written with an offset selects the same records.
      const offset = labels[1]!.replace('Z', '+00:00');
      expect(blocks(await pollBlocks('rw', { begin: labels[0], end: offset })).map((b) => b.label)).toEqual([labels[1]]);
    });

    it('reports an upper bound no later than the newest label, even when asked for a later one', async () => {
      const r = await pollAll('rw', { end: '2999-01-01T00:00:00Z' });
      const labels = r.blocks.map((b) => b.label!);
      expect(child(r.parts.at(-1)!.root, 'Inclusive_End_Timestamp')?.text).toBe(labels[labels.length - 1]);
    });

    it('splits a long result into contiguous parts, follows them by Poll_Fulfillment, and refuses parts that do not exist', async () => {
      // parts holds 4 blocks from the byte-for-byte test; 4 more make 8: parts of 3, 3 and 2 at TAXII1_PART_SIZE=3.
      const body = inbox([1, 2, 3, 4].map((i) => ({ content: pkg(`p${i}`) })));
      expect(status(await call(`${A}/inbox/parts/`, body)).type).toBe('SUCCESS');
      const first = await pollBlocks('parts');
      expect(first.root?.attrs.get('more')).toBe('true');
      expect(first.root?.attrs.get('result_part_number')).toBe('1');
      const resultId = first.root?.attrs.get('result_id');
      expect(resultId).toBeDefined();
      const parts = [first];
      for (let n = 2; n <= 3; n++) {
        const r = await call(`${A}/poll/`, fulfillment('parts', resultId!, n));
        expect(r.root?.local).toBe('Poll_Response');
        expect(r.root?.attrs.get('result_part_number')).toBe(String(n));
        parts.push(r);
      }
      expect(parts.map((p) => blocks(p).length)).toEqual([3, 3, 2]);
      expect(parts.map((p) => p.root?.attrs.get('more'))).toEqual(['true', 'true', 'false']);
      expect(parts.map((p) => child(p.root, 'Record_Count')?.text)).toEqual(['8', '8', '8']);
      // Contiguous label ranges: each part begins where the previous one ended, and holds every record in its range.
      for (let n = 1; n < 3; n++) {
        expect(child(parts[n]!.root, 'Exclusive_Begin_Timestamp')?.text).toBe(child(parts[n - 1]!.root, 'Inclusive_End_Timestamp')?.text);
        expect(blocks(parts[n - 1]!).at(-1)?.label).toBe(child(parts[n - 1]!.root, 'Inclusive_End_Timestamp')?.text);
      }
      const labels = parts.flatMap((p) => blocks(p).map((b) => b.label));
      expect([...labels].sort()).toEqual(labels);
      expect(new Set(labels).size).toBe(8);
      const again = await call(`${A}/poll/`, fulfillment('parts', resultId!, 1));
      expect(blocks(again).map((b) => b.raw)).toEqual(blocks(first).map((b) => b.raw));
      const beyond = await call(`${A}/poll/`, fulfillment('parts', resultId!, 4));
      expect(status(beyond)).toMatchObject({ type: 'INVALID_RESPONSE_PART', details: { MAX_PART_NUMBER: ['3'] } });
      expect(status(await call(`${A}/poll/`, fulfillment('parts', randomUUID(), 1)))).toMatchObject({ type: 'NOT_FOUND' });
      // Another reader of the same collection cannot fetch alice's result set.
      expect(status(await call(`${A}/poll/`, fulfillment('parts', resultId!, 1), { auth: basic('bob') })).type).toBe('NOT_FOUND');
    });

    it('never ends a multi-part result with an empty part when the count is a multiple of the part size', async () => {
      const all = (await pollAll('parts')).blocks;
      expect(all.length).toBe(8);
      const r = await pollBlocks('parts', { begin: all.at(-1)!.label });
      expect(blocks(r)).toEqual([]);
      expect(r.root?.attrs.get('more')).toBe('false');
      const six = await pollBlocks('parts', { begin: all[1]!.label });
      expect(six.root?.attrs.get('more')).toBe('true');
      const second = await call(`${A}/poll/`, fulfillment('parts', six.root!.attrs.get('result_id')!, 2));
      expect(blocks(second).length).toBe(3);
      expect(second.root?.attrs.get('more')).toBe('false');
    });

    it('answers a TAXII 1.0 poll completely in one response, with an inclusive lower bound', async () => {
      const all = await pollBlocks('parts', { v: '1.0' });
      expect(all.root?.ns).toBe(NS10);
      expect(all.root?.attrs.get('feed_name')).toBe('parts');
      expect(blocks(all).length).toBe(8);
      const b = blocks(all);
      const after = await pollBlocks('parts', { v: '1.0', begin: b[0]!.label });
      expect(blocks(after).length).toBe(7);
      const incl = child(after.root, 'Inclusive_Begin_Timestamp')?.text;
      expect(incl).toMatch(LABEL_RE);
      expect(Date.parse(incl!)).toBeGreaterThanOrEqual(Date.parse(b[0]!.label!));
    });

    it('answers COUNT_ONLY with the record count and no content', async () => {
      const r = await pollBlocks('parts', { countOnly: true });
      expect(child(r.root, 'Record_Count')?.text).toBe('8');
      expect(blocks(r)).toEqual([]);
    });

    it('filters by content binding', async () => {
      const r = await pollBlocks('parts', { bindings: ['urn:example.com:json'] });
      expect(blocks(r).map((b) => b.binding)).toEqual(['urn:example.com:json']);
    });

    it('routes by Destination_Collection_Name and refuses unusable destinations with DESTINATION_COLLECTION_ERROR, storing nothing', async () => {
      const before = { rw: await countBlocks(s, 'rw'), parts: await countBlocks(s, 'parts') };
      const none = await call(`${A}/inbox/`, inbox([{ content: pkg('none') }]));
      expect(status(none)).toMatchObject({ type: 'DESTINATION_COLLECTION_ERROR', details: { ACCEPTABLE_DESTINATION: ['rw', 'small', 'parts'] } });
      const mixed = await call(`${A}/inbox/`, inbox([{ content: pkg('mixed') }], { dest: ['rw', 'ro'] }));
      expect(status(mixed)).toMatchObject({ type: 'DESTINATION_COLLECTION_ERROR' });
      const foreign = await call(`${A}/inbox/`, inbox([{ content: pkg('b1') }], { dest: ['b1'] }));
      expect(status(foreign).type).toBe('DESTINATION_COLLECTION_ERROR');
      const wrongInbox = await call(`${A}/inbox/rw/`, inbox([{ content: pkg('wrong') }], { dest: ['parts'] }));
      expect(status(wrongInbox)).toMatchObject({ type: 'DESTINATION_COLLECTION_ERROR', details: { ACCEPTABLE_DESTINATION: ['rw'] } });
      expect({ rw: await countBlocks(s, 'rw'), parts: await countBlocks(s, 'parts') }).toEqual(before);
      const both = await call(`${A}/inbox/`, inbox([{ content: pkg('both') }], { dest: ['rw', 'parts'] }));
      expect(status(both).type).toBe('SUCCESS');
      expect({ rw: await countBlocks(s, 'rw'), parts: await countBlocks(s, 'parts') }).toEqual({ rw: before.rw + 1, parts: before.parts + 1 });
      // bob only reads: nowhere to write.
      expect(status(await call(`${A}/inbox/`, inbox([{ content: pkg('bob') }]), { auth: basic('bob') })).type).toBe('DESTINATION_COLLECTION_ERROR');
    });

    it('accepts TAXII 1.0 inbox messages on a collection inbox', async () => {
      const before = await countBlocks(s, 'rw');
      const r = await call(`${A}/inbox/rw/`, inbox([{ content: pkg('ten') }], { v: '1.0' }), { v: '1.0' });
      expect(status(r).type).toBe('SUCCESS');
      expect(r.root?.ns).toBe(NS10);
      expect(await countBlocks(s, 'rw')).toBe(before + 1);
    });

    it('refuses a message that would exceed the quota as a whole: nothing of it is stored', async () => {
      expect(status(await call(`${A}/inbox/small/`, inbox([{ content: pkg(1) }]))).type).toBe('SUCCESS');
      const over = await call(`${A}/inbox/small/`, inbox([{ content: pkg(2) }, { content: pkg(3) }]));
      expect(status(over).type).toBe('DENIED');
      expect(await countBlocks(s, 'small')).toBe(1);
    });

    it('keeps one timeline per collection: STIX 2.1 objects are polled as content blocks only when their binding is asked for', async () => {
      const v21 = client(s.url, alice);
      const id = indicatorId();
      expect((await v21.post(`/tenant-a/collections/${RW}/objects/`, { objects: [indicator(id)] })).status).toBe(202);
      expect(status(await call(`${A}/inbox/rw/`, inbox([{ content: pkg('after-21') }]))).type).toBe('SUCCESS');
      const plain = (await pollAll('rw')).blocks;
      expect(plain.some((b) => b.binding === STIX21)).toBe(false);
      const mixed = (await pollAll('rw', { bindings: [STIX21, STIX12] })).blocks;
      const json = mixed.find((b) => b.binding === STIX21 && b.raw.includes(id));
      expect(json).toBeDefined();
      expect(JSON.parse(json!.raw.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&'))).toMatchObject({ id, type: 'indicator' });
      const labels = mixed.map((b) => b.label!);
      expect([...labels].sort()).toEqual(labels);
      expect(mixed.at(-1)?.raw).toBe(pkg('after-21'));
      // The 2.1 side never sees content blocks: only STIX 2.1 objects are in its envelopes.
      const env = await v21.get(`/tenant-a/collections/${RW}/objects/`);
      expect(env.text).not.toContain('STIX_Package');
    });
  });

  describe('subscriptions', () => {
    const sub = (o: Parameters<typeof subscription>[1], auth = alice): Promise<T1Res> =>
      call(`${A}/collection-management/`, subscription('rw', o), { auth, v: o.v ?? '1.1' });
    const subOf = (r: T1Res): { id: string | undefined; status: string | undefined } => {
      expect(r.root?.local, r.text.slice(0, 400)).toBe('Subscription_Management_Response');
      const s1 = child(r.root, 'Subscription');
      return { id: child(s1, 'Subscription_ID')?.text ?? s1?.attrs.get('subscription_id'), status: s1?.attrs.get('status') };
    };

    it('subscribes, returns the same id for the same request, reports status, pauses, resumes and unsubscribes', async () => {
      const a = subOf(await sub({ action: 'SUBSCRIBE', bindings: [STIX12] }));
      expect(a.status).toBe('ACTIVE');
      expect(a.id).toMatch(/^[0-9a-f-]{36}$/);
      const again = subOf(await sub({ action: 'SUBSCRIBE', bindings: [STIX12] }));
      expect(again.id).toBe(a.id);
      const other = subOf(await sub({ action: 'SUBSCRIBE', bindings: [], responseType: 'COUNT_ONLY' }));
      expect(other.id).not.toBe(a.id);

      const all = await sub({ action: 'STATUS' });
      const listed = children(all.root, 'Subscription');
      expect(listed.map((x) => child(x, 'Subscription_ID')?.text)).toEqual([a.id, other.id]);
      expect(child(child(listed[0], 'Subscription_Parameters'), 'Response_Type')?.text).toBe('FULL');
      expect(children(listed[0], 'Poll_Instance').length).toBe(1);

      expect(subOf(await sub({ action: 'PAUSE', id: a.id! })).status).toBe('PAUSED');
      expect(subOf(await sub({ action: 'PAUSE', id: a.id! })).status).toBe('PAUSED');
      expect(subOf(await sub({ action: 'STATUS', id: a.id! })).status).toBe('PAUSED');
      expect(subOf(await sub({ action: 'RESUME', id: a.id! })).status).toBe('ACTIVE');
      expect(subOf(await sub({ action: 'RESUME', id: a.id! })).status).toBe('ACTIVE');
      const gone = subOf(await sub({ action: 'UNSUBSCRIBE', id: a.id! }));
      expect(gone).toEqual({ id: a.id, status: 'UNSUBSCRIBED' });
      // Unsubscribing again, or from an id that never existed, succeeds and changes nothing.
      expect(subOf(await sub({ action: 'UNSUBSCRIBE', id: a.id! })).status).toBe('UNSUBSCRIBED');
      expect(children((await sub({ action: 'STATUS' })).root, 'Subscription').length).toBe(1);
      expect(status(await sub({ action: 'PAUSE', id: a.id! }))).toMatchObject({ type: 'NOT_FOUND', details: { ITEM: [a.id] } });
    });

    it('polls by subscription id with the subscription parameters, for its owner only', async () => {
      const a = subOf(await sub({ action: 'SUBSCRIBE', bindings: ['urn:example.com:none'] }));
      const r = await pollBlocks('rw', { subscriptionId: a.id! });
      expect(blocks(r)).toEqual([]);
      expect(child(r.root, 'Subscription_ID')?.text).toBe(a.id);
      const bob = await call(`${A}/poll/`, poll('rw', { subscriptionId: a.id! }), { auth: basic('bob') });
      expect(status(bob)).toMatchObject({ type: 'NOT_FOUND' });
      expect(status(await sub({ action: 'STATUS', id: a.id! }, basic('bob'))).type).toBe('NOT_FOUND');
    });

    it.each([
      ['SUBSCRIBE without Subscription_Parameters', { action: 'SUBSCRIBE', noParameters: true }, 'BAD_MESSAGE'],
      ['UNSUBSCRIBE without Subscription_ID', { action: 'UNSUBSCRIBE' }, 'BAD_MESSAGE'],
      ['PAUSE without Subscription_ID', { action: 'PAUSE' }, 'BAD_MESSAGE'],
      ['an unsupported push protocol', { action: 'SUBSCRIBE', push: { address: 'smtp://x', protocol: 'urn:example.com:smtp' } }, 'UNSUPPORTED_PROTOCOL'],
      ['an address that does not match the protocol', { action: 'SUBSCRIBE', push: { address: 'https://x.example/inbox' } }, 'UNSUPPORTED_PROTOCOL'],
      [
        'an unsupported delivery message binding',
        { action: 'SUBSCRIBE', push: { address: 'http://x.example/', binding: 'urn:cert.europa.eu:message:json:1.0' } },
        'UNSUPPORTED_MESSAGE',
      ],
      ['a query', { action: 'SUBSCRIBE', query: true }, 'UNSUPPORTED_QUERY'],
    ] as const)('refuses %s and creates nothing', async (_what, o, type) => {
      const before = children((await sub({ action: 'STATUS' })).root, 'Subscription').length;
      expect(status(await sub(o as Parameters<typeof subscription>[1])).type).toBe(type);
      expect(children((await sub({ action: 'STATUS' })).root, 'Subscription').length).toBe(before);
    });

    it('answers NOT_FOUND for an unknown collection before anything else, and UNAUTHORIZED before that', async () => {
      const r = await call(`${A}/collection-management/`, subscription('nope', { action: 'UNSUBSCRIBE', id: 'x' }));
      expect(status(r)).toMatchObject({ type: 'NOT_FOUND', details: { ITEM: ['nope'] } });
      const anon = await post(s.url, `${A}/collection-management/`, subscription('nope', { action: 'UNSUBSCRIBE', id: 'x' }));
      expect(status(anon).type).toBe('UNAUTHORIZED');
    });

    it('speaks the 1.0 subset: SUBSCRIBE, STATUS with push parameters, UNSUBSCRIBE', async () => {
      const r = await sub({ v: '1.0', action: 'SUBSCRIBE', push: { address: 'http://inbox.example.com/taxii/' }, bindings: [STIX12] });
      expect(r.root?.ns).toBe(NS10);
      const s1 = child(r.root, 'Subscription');
      const id = s1?.attrs.get('subscription_id');
      expect(id).toBeDefined();
      // 1.0: Push_Parameters only in STATUS answers; a Poll_Instance always.
      expect(child(s1, 'Push_Parameters')).toBeUndefined();
      expect(children(s1, 'Poll_Instance').length).toBe(1);
      const st = await sub({ v: '1.0', action: 'STATUS' });
      const mine = children(st.root, 'Subscription').find((x) => x.attrs.get('subscription_id') === id);
      expect(child(child(mine, 'Push_Parameters'), 'Address')?.text).toBe('http://inbox.example.com/taxii/');
      expect(children(child(mine, 'Push_Parameters'), 'Content_Binding').map((c) => c.text)).toEqual([STIX12]);
      const un = await sub({ v: '1.0', action: 'UNSUBSCRIBE', id: id! });
      expect(child(un.root, 'Subscription')?.attrs.get('subscription_id')).toBe(id);
    });
  });

  it('counts exchanges in the metrics by version, message and answer', async () => {
    const text = await s.server.metricsText();
    expect(text).toMatch(/taxiway_taxii1_messages_total\{api_root="tenant-a",version="1.1",message="poll",answer="poll_response"\} \d+/);
    expect(text).toMatch(/taxiway_taxii1_messages_total\{api_root="tenant-a",version="1.0",message="discovery",answer="discovery_response"\} \d+/);
    expect(text).toMatch(/taxiway_objects_served_total\{api_root="tenant-a",collection="parts",endpoint="taxii1_poll"\} \d+/);
  });

  it('sends only messages that validate against the official TAXII 1.0 and 1.1 XML schemas', async () => {
    expect(received.length).toBeGreaterThan(100);
    expect(await schemaErrors(received)).toEqual([]);
  });
});

async function countBlocks(s: RunningServer, collection: string): Promise<number> {
  const rows = await s.server.database.dataSource.query<{ n: number }[]>(
    `SELECT count(*)::int AS n FROM content_blocks b JOIN collections c ON c.pk = b.collection_pk WHERE c.name = $1`,
    [collection],
  );
  return rows[0]?.n ?? 0;
}

describe('TAXII 1.x under a rate limit', () => {
  let s: RunningServer;
  beforeAll(async () => {
    s = await startServer(STATE, { env: { RATE_LIMIT_PER_SECOND: '1', RATE_LIMIT_BURST: '2' } });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('answers RETRY with ESTIMATED_WAIT once the principal is over its rate, in HTTP 200', async () => {
    const answers: T1Res[] = [];
    for (let i = 0; i < 4; i++) answers.push(await post(s.url, `${A}/discovery/`, discovery(), { auth: alice }));
    expect(answers[0]!.root?.local).toBe('Discovery_Response');
    const limited = answers.find((r) => r.root?.local === 'Status_Message');
    expect(limited?.status).toBe(200);
    expect(status(limited!)).toMatchObject({ type: 'RETRY', details: { ESTIMATED_WAIT: ['1'] } });
  });
});
