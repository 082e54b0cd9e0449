import { describe, expect, it } from 'vitest';
import { canonicalJson, collectionAccepts, validateStixObject } from './stix';

const MT = ['application/stix+json;version=2.1'];
const ind = {
  type: 'indicator',
  spec_version: '2.1',
  id: 'indicator--252c7c11-daf2-42bd-843b-be65edca9f61',
  created: '2018-05-27T12:02:41.312Z',
  modified: '2018-05-28T12:02:41.312Z',
  pattern: "[ipv4-addr:value = '1.2.3.4']",
  pattern_type: 'stix',
  valid_from: '2018-05-27T12:02:41Z',
};

describe('validateStixObject', () => {
  it('keeps the version text and its instant, and the JSON text', () => {
    const v = validateStixObject(ind, MT);
    expect(v.ok).toBe(true);
    if (v.ok) {
      expect(v.record).toMatchObject({
        id: ind.id,
        type: 'indicator',
        specVersion: '2.1',
        version: '2018-05-28T12:02:41.312Z',
        mediaType: 'application/stix+json;version=2.1',
      });
      expect(JSON.parse(v.record.raw as string)).toEqual(ind);
    }
  });
  it('uses created as the version of an unversioned object', () => {
    const { modified: _m, ...noMod } = ind;
    const v = validateStixObject(noMod, MT);
    expect(v.ok && v.record.version).toBe(ind.created);
  });
  it('accepts an SCO without spec_version or timestamps (no version)', () => {
    const v = validateStixObject({ type: 'ipv4-addr', id: 'ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd', value: '198.51.100.3' }, MT);
    expect(v.ok && v.record.version).toBeUndefined();
    expect(v.ok && v.record.specVersion).toBe('2.1');
  });
  it.each([
    ['not an object', 'not a JSON object'],
    [{ ...ind, id: undefined }, 'missing or non-string "id"'],
    [{ ...ind, id: 'indicator--nope' }, 'malformed "id"'],
    [{ ...ind, id: 'malware--252c7c11-daf2-42bd-843b-be65edca9f61' }, 'malformed "id"'],
    [{ ...ind, type: undefined }, 'missing or non-string "type"'],
    [{ ...ind, type: 'In Dicator' }, 'malformed "type"'],
    [{ ...ind, spec_version: undefined }, 'missing "spec_version"'],
    [{ ...ind, spec_version: '3.0' }, 'unsupported spec_version 3.0'],
    [{ ...ind, spec_version: 21 }, 'malformed "spec_version"'],
    [{ ...ind, modified: 'yesterday' }, 'malformed "modified" timestamp'],
    [{ ...ind, created: '2018-05-27 12:02' }, 'malformed "created" timestamp'],
    [{ ...ind, modified: '2010-01-01T00:00:00Z' }, '"modified" is earlier than "created"'],
  ])('fails %j with a message', (obj, message) => {
    const v = validateStixObject(obj, MT);
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.message).toContain(message);
  });
  it('fails objects of a spec version the collection does not hold', () => {
    const v = validateStixObject({ ...ind, spec_version: '2.0' }, MT);
    expect(!v.ok && v.message).toContain('does not accept');
    expect(validateStixObject({ ...ind, spec_version: '2.0' }, ['application/stix+json']).ok).toBe(true);
  });
});

describe('helpers', () => {
  it('canonicalJson ignores key order only', () => {
    expect(canonicalJson({ b: 1, a: [{ y: 2, x: 1 }] })).toBe(canonicalJson({ a: [{ x: 1, y: 2 }], b: 1 }));
    expect(canonicalJson({ a: 1 })).not.toBe(canonicalJson({ a: '1' }));
  });
  it('collectionAccepts matches versioned and unversioned STIX media types', () => {
    expect(collectionAccepts(['application/stix+json; version=2.1'], '2.1')).toBe(true);
    expect(collectionAccepts(['application/stix+json;version=2.1'], '2.0')).toBe(false);
  });
});
