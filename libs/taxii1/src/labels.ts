import { parseRfc3339Us } from '@taxiway/domain';

/**
 * Timestamp Labels (digest §5.5): `xs:dateTime` with a mandatory time zone and at most six
 * fractional digits, carried as integer epoch microseconds so no precision is lost.
 */
const LABEL = /^-?\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?([+-]\d{2}:\d{2}|Z)$/;

/** Epoch µs of a Timestamp Label, or undefined if it is not a valid label. */
export function parseLabel(text: string): number | undefined {
  const t = text.trim();
  if (!LABEL.test(t)) return undefined;
  return parseRfc3339Us(t);
}

/** The last millisecond of 9999 and the first of 0001: labels are written with four-digit years. */
const LAST_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
const FIRST_MS = -62_135_596_800_000;

/** A label in UTC with six fractional digits, e.g. `2026-11-22T08:01:05.417866Z` (clamped to years 0001–9999). */
export function formatLabel(us: number): string {
  const ms = Math.floor(us / 1000);
  if (ms > LAST_MS) return '9999-12-31T23:59:59.999999Z';
  if (ms < FIRST_MS) return '0001-01-01T00:00:00.000000Z';
  const micros = Math.min(999, Math.max(0, Math.round(us - ms * 1000)));
  const iso = new Date(ms).toISOString(); // 2026-11-22T08:01:05.417Z
  return `${iso.slice(0, 23)}${String(micros).padStart(3, '0')}Z`;
}
