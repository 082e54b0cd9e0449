import { describe, expect, it } from 'vitest';
import { checkContentType, negotiateAccept, parseMediaRange } from './media-type';

const accepts = (h: string | undefined, allowStix = false): boolean => {
  try {
    negotiateAccept(h, { allowStix });
    return true;
  } catch {
    return false;
  }
};
const contentOk = (h: string | undefined): boolean => {
  try {
    checkContentType(h);
    return true;
  } catch {
    return false;
  }
};

describe('Accept negotiation', () => {
  it.each([
    'application/taxii+json;version=2.1',
    'application/taxii+json; version=2.1',
    'application/taxii+json',
    'APPLICATION/TAXII+JSON;VERSION=2.1',
    'application/vnd.oasis.taxii+json; version=2.1',
    'text/html, application/taxii+json;version=2.1;q=0.5',
    'application/taxii+json;version=2.0, application/taxii+json;version=2.1',
    'application/json',
    '*/*',
    'application/*',
    'application/json, text/plain, */*',
    '',
  ])('serves 2.1 for %j', (h) => {
    expect(accepts(h)).toBe(true);
  });

  it('serves a request without an Accept header', () => {
    expect(accepts(undefined)).toBe(true);
  });

  it.each([
    'application/taxii+json;version=2.0',
    'application/vnd.oasis.taxii+json; version=2.0',
    'text/html',
    'application/xml',
    'application/taxii+json;q=0',
  ])('refuses %j with NotAcceptable', (h) => {
    expect(() => negotiateAccept(h)).toThrow(expect.objectContaining({ code: 'NotAcceptable' }));
  });

  it("accepts the manifest endpoint's two-item list and the STIX type there", () => {
    expect(accepts('application/taxii+json;version=2.1,application/stix+json;version=2.1', true)).toBe(true);
    expect(accepts('application/stix+json;version=2.1', true)).toBe(true);
    expect(accepts('application/stix+json;version=2.1', false)).toBe(false);
  });

  it('parses parameters case-insensitively and unquotes values', () => {
    const r = parseMediaRange('Application/TAXII+json; Version="2.1"; q=0.7');
    expect(r).toMatchObject({ type: 'application', subtype: 'taxii+json', q: 0.7 });
    expect(r?.params.get('version')).toBe('2.1');
  });
});

describe('POST Content-Type', () => {
  it.each([
    'application/taxii+json;version=2.1',
    'application/taxii+json; version=2.1',
    'application/taxii+json',
    'application/taxii+json;version=2.1; charset=utf-8',
    'application/stix+json;version=2.1',
    'application/json',
    'application/json; charset=utf-8',
  ])('accepts %j', (h) => {
    expect(contentOk(h)).toBe(true);
  });

  it.each([undefined, 'text/plain', 'application/xml', 'application/taxii+json;version=2.0', 'multipart/form-data; boundary=x'])('refuses %j with 415', (h) => {
    expect(() => checkContentType(h)).toThrow(expect.objectContaining({ code: 'UnsupportedMediaType' }));
  });
});
