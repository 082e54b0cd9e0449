import { describe, expect, it } from 'vitest';
import { BadMessage, parseRequest, VersionMismatch } from './parse';

const NS11 = 'http://taxii.mitre.org/messages/taxii_xml_binding-1.1';
const NS10 = 'http://taxii.mitre.org/messages/taxii_xml_binding-1';
const LIBTAXII_ROOT = `xmlns:taxii="${NS10}" xmlns:taxii_11="${NS11}" xmlns:tdq="http://taxii.mitre.org/query/taxii_default_query-1"`;
const b = (s: string): Buffer => Buffer.from(s, 'utf8');

describe('parseRequest (1.1)', () => {
  it('reads a pretty-printed libtaxii inbox message, content kept as sent, and records only the inherited namespaces it uses', () => {
    const content = `\n      <stix:STIX_Package xmlns:stix="http://stix.mitre.org/stix-1" id="x"/>\n    `;
    const m = parseRequest(
      b(`<taxii_11:Inbox_Message ${LIBTAXII_ROOT} message_id="a1b2">
  <taxii_11:Destination_Collection_Name>feed-a</taxii_11:Destination_Collection_Name>
  <taxii_11:Record_Count partial_count="false">1</taxii_11:Record_Count>
  <taxii_11:Content_Block>
    <taxii_11:Content_Binding binding_id="urn:stix.mitre.org:xml:1.2"><taxii_11:Subtype subtype_id="urn:x:s"/></taxii_11:Content_Binding>
    <taxii_11:Content>${content}</taxii_11:Content>
    <taxii_11:Timestamp_Label>2026-11-22T08:01:05.417866+00:00</taxii_11:Timestamp_Label>
    <taxii_11:Padding>ignored</taxii_11:Padding>
  </taxii_11:Content_Block>
</taxii_11:Inbox_Message>`),
      '1.1',
    );
    expect(m).toMatchObject({ kind: 'inbox', messageId: 'a1b2', destinations: ['feed-a'], recordCount: { count: 1, partial: false } });
    if (m.kind !== 'inbox') throw new Error('not an inbox message');
    expect(m.blocks[0]).toMatchObject({ binding: 'urn:stix.mitre.org:xml:1.2', subtype: 'urn:x:s', content, timestampLabelUs: 1795334465417866 });
    // Declared on the envelope, not used by the content: not copied into the block (issue 12).
    expect(m.blocks[0]!.contentNs['tdq']).toBeUndefined();
  });

  it('keeps an inherited declaration the content uses, in a name or in a QName value', () => {
    const m = parseRequest(
      b(
        `<taxii_11:Inbox_Message xmlns:taxii_11="${NS11}" xmlns:ind="urn:ind" xmlns:xsi="urn:xsi" xmlns:unused="urn:u" message_id="q"><taxii_11:Content_Block><taxii_11:Content_Binding binding_id="urn:b"/><taxii_11:Content><x xsi:type="ind:T"/></taxii_11:Content></taxii_11:Content_Block></taxii_11:Inbox_Message>`,
      ),
      '1.1',
    );
    if (m.kind !== 'inbox') throw new Error('not an inbox message');
    expect(m.blocks[0]!.contentNs).toEqual({ ind: 'urn:ind', xsi: 'urn:xsi' });
  });

  it('refuses a content block whose namespace declarations would outweigh it', () => {
    const uri = `urn:${'u'.repeat(8000)}`;
    const msg = `<taxii_11:Inbox_Message xmlns:taxii_11="${NS11}" xmlns:p="${uri}" message_id="amp"><taxii_11:Content_Block><taxii_11:Content_Binding binding_id="urn:b"/><taxii_11:Content><p:x/></taxii_11:Content></taxii_11:Content_Block></taxii_11:Inbox_Message>`;
    expect(() => parseRequest(b(msg), '1.1')).toThrow(/exceed its own size/);
  });

  it('reads a large message whose every Content re-declares namespaces (what a Taxiway push sends)', () => {
    const block = `<taxii_11:Content_Block><taxii_11:Content_Binding binding_id="urn:b"/><taxii_11:Content xmlns:taxii="${NS10}" xmlns:tdq="urn:q" xmlns:stix="urn:s"><stix:P/></taxii_11:Content></taxii_11:Content_Block>`;
    const m = parseRequest(b(`<taxii_11:Inbox_Message xmlns:taxii_11="${NS11}" message_id="big">${block.repeat(2000)}</taxii_11:Inbox_Message>`), '1.1');
    if (m.kind !== 'inbox') throw new Error('not an inbox message');
    expect(m.blocks.length).toBe(2000);
    // Each block keeps what it declares and uses; the unused re-declarations are not stored.
    expect(m.blocks[1999]!.contentNs).toEqual({ stix: 'urn:s' });
  });

  it('reads poll requests with parameters or a subscription id, and fulfilment requests', () => {
    const p = parseRequest(
      b(
        `<taxii_11:Poll_Request xmlns:taxii_11="${NS11}" message_id="1" collection_name="c"><taxii_11:Exclusive_Begin_Timestamp>2026-01-01T00:00:00Z</taxii_11:Exclusive_Begin_Timestamp><taxii_11:Poll_Parameters allow_asynch="false"><taxii_11:Response_Type>COUNT_ONLY</taxii_11:Response_Type><taxii_11:Content_Binding binding_id="urn:a"/></taxii_11:Poll_Parameters></taxii_11:Poll_Request>`,
      ),
      '1.1',
    );
    expect(p).toMatchObject({
      kind: 'poll',
      collectionName: 'c',
      window: { afterUs: Date.UTC(2026, 0, 1) * 1000, throughUs: undefined },
      parameters: { responseType: 'COUNT_ONLY', contentBindings: [{ id: 'urn:a', subtypes: [] }] },
    });
    const f = parseRequest(b(`<taxii_11:Poll_Fulfillment xmlns:taxii_11="${NS11}" message_id="2" collection_name="c" result_id="r"/>`), '1.1');
    expect(f).toMatchObject({ kind: 'poll_fulfillment', resultId: 'r', partNumber: 1 });
  });

  it('refuses a poll window whose end is not later than its begin, in either version', () => {
    const t = '2026-01-01T00:00:00Z';
    expect(() =>
      parseRequest(
        b(
          `<taxii_11:Poll_Request xmlns:taxii_11="${NS11}" message_id="1" collection_name="c"><taxii_11:Exclusive_Begin_Timestamp>${t}</taxii_11:Exclusive_Begin_Timestamp><taxii_11:Inclusive_End_Timestamp>${t}</taxii_11:Inclusive_End_Timestamp><taxii_11:Subscription_ID>s</taxii_11:Subscription_ID></taxii_11:Poll_Request>`,
        ),
        '1.1',
      ),
    ).toThrow(/Inclusive_End_Timestamp must be later than Exclusive_Begin_Timestamp/);
    expect(() =>
      parseRequest(
        b(
          `<taxii:Poll_Request xmlns:taxii="${NS10}" message_id="1" feed_name="f"><taxii:Exclusive_Begin_Timestamp>2026-01-02T00:00:00Z</taxii:Exclusive_Begin_Timestamp><taxii:Inclusive_End_Timestamp>${t}</taxii:Inclusive_End_Timestamp></taxii:Poll_Request>`,
        ),
        '1.0',
      ),
    ).toThrow(BadMessage);
  });

  it('reads a 1.0 Source_Subscription inclusive begin as the exclusive bound 1 µs before it', () => {
    const m = parseRequest(
      b(
        `<taxii:Inbox_Message xmlns:taxii="${NS10}" message_id="1"><taxii:Source_Subscription feed_name="f" subscription_id="s"><taxii:Inclusive_Begin_Timestamp>2026-01-01T00:00:00.000001Z</taxii:Inclusive_Begin_Timestamp><taxii:Inclusive_End_Timestamp>2026-01-02T00:00:00Z</taxii:Inclusive_End_Timestamp></taxii:Source_Subscription></taxii:Inbox_Message>`,
      ),
      '1.0',
    );
    expect(m).toMatchObject({ kind: 'inbox', source: { afterUs: Date.UTC(2026, 0, 1) * 1000, throughUs: Date.UTC(2026, 0, 2) * 1000 } });
  });

  it('ignores extended headers and accepts a trailing signature', () => {
    const m = parseRequest(
      b(
        `<taxii_11:Discovery_Request xmlns:taxii_11="${NS11}" message_id="1"><taxii_11:Extended_Headers><taxii_11:Extended_Header name="urn:x">v</taxii_11:Extended_Header></taxii_11:Extended_Headers><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"/></taxii_11:Discovery_Request>`,
      ),
      '1.1',
    );
    expect(m.kind).toBe('discovery');
  });

  it.each([
    [
      'SUBSCRIBE without parameters',
      `<taxii_11:Subscription_Management_Request xmlns:taxii_11="${NS11}" message_id="1" action="SUBSCRIBE" collection_name="c"/>`,
      /if and only if/,
    ],
    [
      'STATUS with parameters',
      `<taxii_11:Subscription_Management_Request xmlns:taxii_11="${NS11}" message_id="1" action="STATUS" collection_name="c"><taxii_11:Subscription_Parameters/></taxii_11:Subscription_Management_Request>`,
      /if and only if/,
    ],
    [
      'an unknown action',
      `<taxii_11:Subscription_Management_Request xmlns:taxii_11="${NS11}" message_id="1" action="MODIFY" collection_name="c"/>`,
      /must be one of/,
    ],
    [
      'Delivery_Parameters without allow_asynch',
      `<taxii_11:Poll_Request xmlns:taxii_11="${NS11}" message_id="1" collection_name="c"><taxii_11:Poll_Parameters><taxii_11:Delivery_Parameters/></taxii_11:Poll_Parameters></taxii_11:Poll_Request>`,
      /allow_asynch/,
    ],
    [
      'a part number of 0',
      `<taxii_11:Poll_Fulfillment xmlns:taxii_11="${NS11}" message_id="1" collection_name="c" result_id="r" result_part_number="0"/>`,
      /positive integer/,
    ],
    [
      'a foreign element among TAXII children',
      `<taxii_11:Discovery_Request xmlns:taxii_11="${NS11}" message_id="1"><x:y xmlns:x="urn:x"/></taxii_11:Discovery_Request>`,
      /foreign namespace/,
    ],
    ['text where elements belong', `<taxii_11:Discovery_Request xmlns:taxii_11="${NS11}" message_id="1">hello</taxii_11:Discovery_Request>`, /unexpected text/],
    [
      'two subtypes on a block',
      `<taxii_11:Inbox_Message xmlns:taxii_11="${NS11}" message_id="1"><taxii_11:Content_Block><taxii_11:Content_Binding binding_id="a"><taxii_11:Subtype subtype_id="1"/><taxii_11:Subtype subtype_id="2"/></taxii_11:Content_Binding><taxii_11:Content/></taxii_11:Content_Block></taxii_11:Inbox_Message>`,
      /at most one subtype/,
    ],
  ])('refuses %s as a bad message, keeping its message id', (_what, xml, why) => {
    let err: unknown;
    try {
      parseRequest(b(xml), '1.1');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BadMessage);
    expect((err as BadMessage).message).toMatch(why);
    expect((err as BadMessage).messageId).toBe('1');
  });

  it('tells a message of the other version apart', () => {
    expect(() => parseRequest(b(`<taxii:Discovery_Request xmlns:taxii="${NS10}" message_id="1"/>`), '1.1')).toThrow(VersionMismatch);
  });
});

describe('parseRequest (1.0)', () => {
  it('reads feed names, attribute subscription ids and text content bindings', () => {
    const m = parseRequest(
      b(
        `<taxii:Poll_Request xmlns:taxii="${NS10}" message_id="12" feed_name="f" subscription_id="s"><taxii:Content_Binding>urn:stix.mitre.org:xml:1.1.1</taxii:Content_Binding></taxii:Poll_Request>`,
      ),
      '1.0',
    );
    expect(m).toMatchObject({
      kind: 'poll',
      collectionName: 'f',
      subscriptionId: 's',
      parameters: { contentBindings: [{ id: 'urn:stix.mitre.org:xml:1.1.1', subtypes: [] }] },
    });
    const s = parseRequest(
      b(
        `<taxii:Subscription_Management_Request xmlns:taxii="${NS10}" message_id="13" action="SUBSCRIBE" feed_name="f"><taxii:Push_Parameters><taxii:Protocol_Binding>urn:taxii.mitre.org:protocol:http:1.0</taxii:Protocol_Binding><taxii:Address>http://x/</taxii:Address><taxii:Message_Binding>urn:taxii.mitre.org:message:xml:1.0</taxii:Message_Binding><taxii:Content_Binding>urn:a</taxii:Content_Binding></taxii:Push_Parameters></taxii:Subscription_Management_Request>`,
      ),
      '1.0',
    );
    expect(s).toMatchObject({ kind: 'subscription_management', action: 'SUBSCRIBE', push: { address: 'http://x/', contentBindings: [{ id: 'urn:a' }] } });
  });

  it('refuses message ids that are not digits, PAUSE, and UNSUBSCRIBE without an id', () => {
    expect(() => parseRequest(b(`<taxii:Discovery_Request xmlns:taxii="${NS10}" message_id="x1"/>`), '1.0')).toThrow(/digits/);
    expect(() => parseRequest(b(`<taxii:Subscription_Management_Request xmlns:taxii="${NS10}" message_id="1" action="PAUSE" feed_name="f"/>`), '1.0')).toThrow(
      /one of/,
    );
    expect(() =>
      parseRequest(b(`<taxii:Subscription_Management_Request xmlns:taxii="${NS10}" message_id="1" action="UNSUBSCRIBE" feed_name="f"/>`), '1.0'),
    ).toThrow(/subscription_id/);
  });
});
