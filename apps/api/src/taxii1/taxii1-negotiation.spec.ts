import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { MESSAGE_BINDING, PROTOCOL_HTTPS, SERVICES } from '@taxiway/taxii1';
import { answerVersion, EarlyAnswer, inResponseTo, negotiate, peekMessageId, sniffVersion } from './taxii1-negotiation';

const request = (headers: Record<string, string>, body?: Buffer, encrypted = false): FastifyRequest =>
  ({ headers, body, raw: { socket: { encrypted } } }) as unknown as FastifyRequest;
const v11 = { 'x-taxii-content-type': MESSAGE_BINDING['1.1'], 'x-taxii-services': SERVICES['1.1'], 'content-type': 'application/xml' };
const v10 = { 'x-taxii-content-type': MESSAGE_BINDING['1.0'], 'x-taxii-services': SERVICES['1.0'], 'content-type': 'application/xml' };

function refusal(headers: Record<string, string>): EarlyAnswer {
  try {
    negotiate(request(headers));
  } catch (e) {
    if (e instanceof EarlyAnswer) return e;
    throw e;
  }
  throw new Error('negotiated');
}

describe('negotiate', () => {
  it('reads the version from X-TAXII-Content-Type and X-TAXII-Services, answering in it unless X-TAXII-Accept says otherwise', () => {
    expect(negotiate(request(v11))).toEqual({ version: '1.1', accepted: ['1.1'], https: false });
    expect(negotiate(request({ ...v10, 'x-taxii-accept': `${MESSAGE_BINDING['1.1']} ${MESSAGE_BINDING['1.0']}` }))).toMatchObject({
      version: '1.0',
      accepted: ['1.1', '1.0'],
    });
    expect(negotiate(request({ ...v11, 'x-forwarded-proto': 'https, http' })).https).toBe(true);
    expect(negotiate(request(v11, undefined, true)).https).toBe(true);
    expect(negotiate(request({ ...v11, 'x-taxii-protocol': PROTOCOL_HTTPS, accept: 'text/html, application/*;q=0.5' })).version).toBe('1.1');
  });

  it('refuses missing or disagreeing headers, unknown bindings and protocols, non-XML bodies and answers', () => {
    expect(refusal({ ...v11, 'x-taxii-content-type': '' }).status.code).toBe('UNSUPPORTED_MESSAGE');
    expect(refusal({ ...v11, 'x-taxii-services': SERVICES['1.0'] }).status.message).toMatch(/different TAXII versions/);
    expect(refusal({ ...v11, 'x-taxii-accept': 'urn:json' }).status.code).toBe('UNSUPPORTED_MESSAGE');
    expect(refusal({ ...v11, 'x-taxii-protocol': 'urn:smtp' }).status.code).toBe('UNSUPPORTED_PROTOCOL');
    expect(refusal({ ...v11, 'content-type': 'application/json' }).status.code).toBe('UNSUPPORTED_MESSAGE');
    expect(refusal({ ...v11, accept: 'application/json, application/xml;q=0' }).status.code).toBe('NOT_ACCEPTABLE');
    // A refusal is written in the version the request's headers (or body) name.
    expect(refusal({ ...v10, 'x-taxii-protocol': 'urn:smtp' }).version).toBe('1.0');
  });
});

describe('message ids and versions of an answer', () => {
  it("finds a message id in a body's first bytes without parsing it", () => {
    expect(peekMessageId(Buffer.from(`<taxii_11:Poll_Request xmlns:taxii_11="x" message_id="42" collection_name="c">`))).toBe('42');
    expect(peekMessageId(Buffer.from(`<Discovery_Request message_id='a-b'/>`))).toBe('a-b');
    expect(peekMessageId(Buffer.from(`${' '.repeat(5000)}<Discovery_Request message_id="1"/>`))).toBeUndefined();
    expect(peekMessageId(undefined)).toBeUndefined();
  });

  it('answers a 1.0 request id only if it is digits, and picks the first accepted version that can carry it', () => {
    expect(inResponseTo('12', '1.0')).toBe('12');
    expect(inResponseTo('a-uuid', '1.0')).toBe('0');
    expect(inResponseTo('a-uuid', '1.1')).toBe('a-uuid');
    expect(inResponseTo(undefined, '1.1')).toBe('0');
    expect(answerVersion(['1.0', '1.1'], 'a-uuid')).toBe('1.1');
    expect(answerVersion(['1.0', '1.1'], '7')).toBe('1.0');
    expect(answerVersion(['1.0'], 'a-uuid')).toBe('1.0');
  });

  it('sniffs the version of a request without usable headers from its namespace, else 1.1', () => {
    expect(sniffVersion({}, Buffer.from(`<x xmlns="http://taxii.mitre.org/messages/taxii_xml_binding-1"/>`))).toBe('1.0');
    expect(sniffVersion({}, Buffer.from(`<x xmlns="http://taxii.mitre.org/messages/taxii_xml_binding-1.1"/>`))).toBe('1.1');
    expect(sniffVersion({ 'x-taxii-services': SERVICES['1.0'] }, undefined)).toBe('1.0');
    expect(sniffVersion({}, undefined)).toBe('1.1');
  });
});
