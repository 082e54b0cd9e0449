import { describe, expect, it } from 'vitest';
import { filterFromKey, filterKey, parseListQuery, parseVersionSelector } from './filters';
import { parseRfc3339Us } from './time';

const ID1 = 'indicator--252c7c11-daf2-42bd-843b-be65edca9f61';
const ID2 = 'malware--664fa29d-bf65-4f28-a667-bdb76f29ec98';

describe('parseListQuery', () => {
  it('parses every filter of Get Objects', () => {
    const q = parseListQuery(
      {
        added_after: '2016-11-02T12:34:34.123Z',
        limit: '10',
        'match[id]': `${ID2},${ID1}`,
        'match[type]': 'malware,indicator',
        'match[version]': 'first,last',
        'match[spec_version]': '2.1',
      },
      'objects',
      1000,
    );
    expect(q.limit).toBe(10);
    expect(q.filter.addedAfterUs).toBe(parseRfc3339Us('2016-11-02T12:34:34.123Z'));
    expect(q.filter.ids).toEqual([ID1, ID2]);
    expect(q.filter.types).toEqual(['indicator', 'malware']);
    expect(q.filter.versions).toEqual({ all: false, first: true, last: true, exact: [] });
    expect(q.filter.specVersions).toEqual(['2.1']);
    expect(q.hasFilter).toBe(true);
  });

  it('caps limit at the configured maximum instead of refusing it', () => {
    expect(parseListQuery({ limit: '999999999' }, 'objects', 10000).limit).toBe(10000);
    expect(parseListQuery({ limit: '99999999999999999999999999' }, 'objects', 10000).limit).toBe(10000);
    expect(parseListQuery({ limit: '0001' }, 'objects', 10000).limit).toBe(1);
  });

  it.each([
    [{ limit: '0' }],
    [{ limit: '-1' }],
    [{ limit: 'ten' }],
    [{ limit: '1.5' }],
    [{ added_after: 'yesterday' }],
    [{ added_after: ['2016-11-02T12:34:34Z', '2016-11-03T12:34:34Z'] }],
    [{ 'match[type]': '' }],
    [{ 'match[type]': 'indicator,' }],
    [{ 'match[type]': 'indicator, malware' }],
    [{ 'match[type]': 'Not A Type' }],
    [{ 'match[id]': 'not-an-id' }],
    [{ 'match[version]': 'all,last' }],
    [{ 'match[version]': 'last,last' }],
    [{ 'match[version]': '2016-01-01T01:01:01.000Z,2016-01-01T01:01:01Z' }],
    [{ 'match[version]': 'newest' }],
    [{ 'match[spec_version]': 'two' }],
    [{ 'match[type]': ['indicator', 'malware'] }],
  ])('refuses malformed %j with InvalidFilter', (query) => {
    expect(() => parseListQuery(query, 'objects', 1000)).toThrow(expect.objectContaining({ code: 'InvalidFilter' }));
  });

  it('ignores match fields it does not know and parameters the endpoint does not define', () => {
    const q = parseListQuery({ 'match[foo]': 'bar', 'match[id]': ID1, foo: 'x' }, 'versions', 1000);
    expect(q.filter).toEqual({});
    expect(q.hasFilter).toBe(false);
  });

  it('accepts STIX 2.1 types including custom ones', () => {
    expect(parseListQuery({ 'match[type]': 'grouping,x-acme-widget,ipv4-addr' }, 'objects', 10).filter.types).toEqual([
      'grouping',
      'ipv4-addr',
      'x-acme-widget',
    ]);
  });
});

describe('match[version]', () => {
  it('compares exact versions as instants', () => {
    expect(parseVersionSelector(['2016-01-01T01:01:01.000Z']).exact).toEqual(parseVersionSelector(['2016-01-01T01:01:01Z']).exact);
  });
  it('unions keywords and exact values', () => {
    expect(parseVersionSelector(['first', '2018-03-02T01:01:01.123Z', 'last'])).toMatchObject({ first: true, last: true, all: false });
  });
});

describe('filterKey', () => {
  it('is independent of value order and round-trips', () => {
    const a = parseListQuery({ 'match[type]': 'malware,indicator', 'match[version]': 'all' }, 'objects', 10).filter;
    const b = parseListQuery({ 'match[type]': 'indicator,malware', 'match[version]': 'all' }, 'objects', 10).filter;
    expect(filterKey(a)).toBe(filterKey(b));
    expect(filterFromKey(filterKey(a))).toEqual(a);
    expect(filterKey({})).not.toBe(filterKey(a));
  });
});
