import { describe, expect, it } from 'vitest';
import { formatLabel, parseLabel } from './labels';

describe('Timestamp Labels', () => {
  it('parse at microsecond precision, with Z or an offset', () => {
    expect(parseLabel('2026-11-22T08:01:05.417866+00:00')).toBe(Date.UTC(2026, 10, 22, 8, 1, 5) * 1000 + 417866);
    expect(parseLabel('2026-11-22T10:01:05.417866+02:00')).toBe(parseLabel('2026-11-22T08:01:05.417866Z'));
    expect(parseLabel('2026-11-22T08:01:05Z')).toBe(Date.UTC(2026, 10, 22, 8, 1, 5) * 1000);
  });

  it('refuse labels without a time zone or with more than six fractional digits', () => {
    expect(parseLabel('2026-11-22T08:01:05')).toBeUndefined();
    expect(parseLabel('2026-11-22T08:01:05.1234567Z')).toBeUndefined();
    expect(parseLabel('2026-02-30T08:01:05Z')).toBeUndefined();
  });

  it('read years below 100 as written, and never write a year outside 0001–9999', () => {
    expect(formatLabel(parseLabel('0001-01-01T00:00:00+00:00')!)).toBe('0001-01-01T00:00:00.000000Z');
    expect(formatLabel(parseLabel('0099-06-01T00:00:00Z')!)).toBe('0099-06-01T00:00:00.000000Z');
    expect(formatLabel(parseLabel('9999-12-31T23:00:00-05:00')!)).toBe('9999-12-31T23:59:59.999999Z');
  });

  it('format in UTC with six digits and round-trip', () => {
    const us = Date.UTC(2026, 0, 2, 3, 4, 5) * 1000 + 7;
    expect(formatLabel(us)).toBe('2026-01-02T03:04:05.000007Z');
    expect(parseLabel(formatLabel(us))).toBe(us);
  });
});
