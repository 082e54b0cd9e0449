import { describe, expect, it } from 'vitest';
import { formatTaxiiTimestamp, parseRfc3339Us, parseStixInstant, parseStixTimestampUs } from './time';

describe('TAXII timestamps', () => {
  it('formats epoch microseconds with exactly six fractional digits and Z', () => {
    expect(formatTaxiiTimestamp(Date.UTC(2016, 10, 2, 12, 34, 34) * 1000 + 123456)).toBe('2016-11-02T12:34:34.123456Z');
    expect(formatTaxiiTimestamp(0)).toBe('1970-01-01T00:00:00.000000Z');
    expect(formatTaxiiTimestamp(Date.UTC(2024, 0, 1) * 1000 + 7)).toBe('2024-01-01T00:00:00.000007Z');
  });

  it('parses any RFC 3339 precision, truncating below a microsecond', () => {
    const base = Date.UTC(2016, 10, 2, 12, 34, 34) * 1000;
    expect(parseRfc3339Us('2016-11-02T12:34:34Z')).toBe(base);
    expect(parseRfc3339Us('2016-11-02T12:34:34.1Z')).toBe(base + 100000);
    expect(parseRfc3339Us('2016-11-02T12:34:34.123456789Z')).toBe(base + 123456);
  });

  it('round-trips what it formats', () => {
    for (const us of [1, 999, 1_700_000_000_123_456, 4_102_444_799_999_999]) expect(parseRfc3339Us(formatTaxiiTimestamp(us))).toBe(us);
  });

  it('honours numeric offsets for RFC 3339 input but STIX timestamps must be UTC', () => {
    expect(parseRfc3339Us('2016-11-02T14:34:34+02:00')).toBe(parseRfc3339Us('2016-11-02T12:34:34Z'));
    expect(parseStixTimestampUs('2016-11-02T14:34:34+02:00')).toBeUndefined();
    expect(parseStixTimestampUs('2016-11-02T12:34:34.000Z')).toBe(parseRfc3339Us('2016-11-02T12:34:34Z'));
  });

  it.each(['2016-11-02', '2016-13-02T00:00:00Z', '2021-02-30T00:00:00Z', '2016-11-02T24:00:00Z', 'yesterday', '2016-11-04T03:04:051Z', ''])(
    'refuses malformed %j',
    (s) => {
      expect(parseRfc3339Us(s)).toBeUndefined();
    },
  );

  it('keeps object versions exact to the microsecond over the whole STIX range, years 0001 to 9999', () => {
    for (const text of [
      '0001-01-01T00:00:00.000001Z',
      '1600-02-29T12:34:56.789012Z',
      '1969-12-31T23:59:59.999999Z',
      '2500-06-01T00:00:00.000001Z',
      '9999-12-31T23:59:59.999999Z',
    ]) {
      const us = parseStixInstant(text);
      expect(us).toBeDefined();
      expect(formatTaxiiTimestamp(us!)).toBe(text);
    }
    // One microsecond apart is two versions, however far from 1970.
    expect(parseStixInstant('0001-01-01T00:00:00.000002Z')! - parseStixInstant('0001-01-01T00:00:00.000001Z')!).toBe(1n);
    expect(parseStixInstant('9999-12-31T23:59:59.999999Z')! - parseStixInstant('9999-12-31T23:59:59.999998Z')!).toBe(1n);
    expect(parseStixInstant('2021-01-01T00:00:00+00:00')).toBeUndefined();
  });
});
