import { describe, expect, it } from 'vitest';
import { Window } from '@taxiway/domain';
import { newMessageId, serializeAround, serializeMessage } from './serialize';
import { parseXml } from './xml';

describe('serializeMessage', () => {
  it('writes 1.1 status details as name/value pairs and 1.0 details as the space-separated value', () => {
    const msg = {
      kind: 'status',
      type: 'UNSUPPORTED_MESSAGE',
      message: 'no <json> & co',
      details: [
        ['SUPPORTED_BINDING', 'a'],
        ['SUPPORTED_BINDING', 'b'],
      ],
    } as const;
    const v11 = serializeMessage(msg, '1.1', 'r1', 'm1');
    expect(v11).toContain(
      '<taxii_11:Status_Detail><taxii_11:Detail name="SUPPORTED_BINDING">a</taxii_11:Detail><taxii_11:Detail name="SUPPORTED_BINDING">b</taxii_11:Detail></taxii_11:Status_Detail>',
    );
    expect(v11).toContain('<taxii_11:Message>no &lt;json&gt; &amp; co</taxii_11:Message>');
    expect(serializeMessage(msg, '1.0', '1', '2')).toContain('<taxii:Status_Detail>a b</taxii:Status_Detail>');
  });

  it('answers status types TAXII 1.0 lacks as FAILURE to a 1.0 client', () => {
    expect(serializeMessage({ kind: 'status', type: 'DESTINATION_COLLECTION_ERROR' }, '1.0', '1')).toContain('status_type="FAILURE"');
  });

  it('writes content exactly as stored, re-declaring the namespaces it had in scope', () => {
    const content = '<p:x a="1">é &amp; <![CDATA[<y>]]></p:x>';
    const xml = serializeMessage(
      {
        kind: 'poll_response',
        collectionName: 'c',
        more: false,
        partNumber: 1,
        window: Window.of(undefined, 1),
        recordCount: 1,
        partialCount: false,
        blocks: [
          {
            binding: 'urn:b',
            content,
            contentNs: { p: 'urn:p', taxii_11: 'http://taxii.mitre.org/messages/taxii_xml_binding-1.1', '': 'urn:d' },
            timestampLabelUs: 1,
          },
        ],
      },
      '1.1',
      'r',
    );
    expect(xml).toContain(`<taxii_11:Content xmlns:p="urn:p" xmlns="urn:d">${content}</taxii_11:Content>`);
    const root = parseXml(xml);
    expect(root.children.find((c) => c.local === 'Content_Block')?.children.map((c) => c.local)).toEqual(['Content_Binding', 'Content', 'Timestamp_Label']);
  });

  it('splits a message where its content blocks go', () => {
    const { head, tail } = serializeAround(
      {
        kind: 'poll_response',
        collectionName: 'c',
        more: false,
        partNumber: 1,
        window: Window.of(undefined, 0),
        recordCount: 0,
        partialCount: false,
        blocks: [],
      },
      '1.1',
      'r',
    );
    expect(tail).toBe('</taxii_11:Poll_Response>');
    expect(head.endsWith('</taxii_11:Record_Count>')).toBe(true);
  });

  it('reports a window as 1.1 exclusive begin and 1.0 inclusive begin (1 µs later), both with the inclusive end', () => {
    const response = {
      kind: 'poll_response',
      collectionName: 'c',
      more: false,
      partNumber: 1,
      window: Window.of(Date.UTC(2026, 0, 1) * 1000, Date.UTC(2026, 0, 2) * 1000),
      recordCount: 0,
      partialCount: false,
      blocks: [],
    } as const;
    const v11 = serializeMessage(response, '1.1', 'r');
    expect(v11).toContain('<taxii_11:Exclusive_Begin_Timestamp>2026-01-01T00:00:00.000000Z</taxii_11:Exclusive_Begin_Timestamp>');
    expect(v11).toContain('<taxii_11:Inclusive_End_Timestamp>2026-01-02T00:00:00.000000Z</taxii_11:Inclusive_End_Timestamp>');
    const v10 = serializeMessage(response, '1.0', '1');
    expect(v10).toContain('<taxii:Inclusive_Begin_Timestamp>2026-01-01T00:00:00.000001Z</taxii:Inclusive_Begin_Timestamp>');
    expect(v10).not.toContain('Exclusive_Begin_Timestamp');
    const open = serializeMessage({ ...response, window: Window.of(undefined, 5) }, '1.0', '1');
    expect(open).not.toContain('Begin_Timestamp');
  });

  it('generates digit ids for 1.0 and UUIDs for 1.1, never the same twice', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newMessageId('1.0')));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^[0-9]+$/);
    expect(newMessageId('1.1')).toMatch(/^[0-9a-f-]{36}$/);
  });
});
