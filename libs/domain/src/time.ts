/**
 * Timestamps. TAXII timestamps are emitted with exactly six fractional digits; on input any RFC 3339
 * precision is accepted. Instants are carried as integer microseconds since the epoch, never as
 * Date, which keeps only milliseconds: as a number for server clock times (exact from 1685 to
 * 2255), and as a bigint for object versions, which STIX allows from year 0001 to 9999.
 */

/** Groups: 1–6 year, month, day, hour, minute, second; 7 fraction; 8 `Z`; 9–11 offset sign, hours, minutes. */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,12}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** Parses an RFC 3339 timestamp into epoch microseconds (sub-microsecond digits are truncated). */
export function parseRfc3339Us(text: string, opts: { utcOnly?: boolean } = {}): number | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  if (opts.utcOnly === true && m[8] === undefined) return undefined;
  const ms = dateTimeMillis(m);
  if (ms === undefined) return undefined;
  const offsetMin = offsetMinutes(m[9], m[10], m[11]);
  if (offsetMin === undefined) return undefined;
  return (ms - offsetMin * 60_000) * 1000 + fractionMicros(m[7]);
}

/** The date and time fields of an RFC3339 match as epoch ms, read as UTC (the offset is applied by the caller); undefined if out of range. */
function dateTimeMillis(m: RegExpExecArray): number | undefined {
  const y = Number(m[1]),
    mo = Number(m[2]),
    d = Number(m[3]),
    h = Number(m[4]),
    mi = Number(m[5]),
    s = Number(m[6]);
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return undefined;
  // Date.UTC reads years 0–99 as 1900–1999: set the full year explicitly.
  const check = new Date(Date.UTC(2000, mo - 1, d, h, mi, s));
  check.setUTCFullYear(y, mo - 1, d);
  const ms = check.getTime();
  if (check.getUTCDate() !== d || check.getUTCMonth() !== mo - 1) return undefined; // 2021-02-30
  return ms;
}

/** A numeric UTC offset (`+hh:mm`/`-hh:mm`) in minutes, 0 for `Z`; undefined if out of range. */
function offsetMinutes(sign: string | undefined, hours: string | undefined, minutes: string | undefined): number | undefined {
  if (sign === undefined) return 0;
  const oh = Number(hours),
    om = Number(minutes);
  if (oh > 23 || om > 59) return undefined;
  return (sign === '+' ? 1 : -1) * (oh * 60 + om);
}

/** The first six fractional-second digits as microseconds (missing digits are zeros). */
function fractionMicros(frac: string | undefined): number {
  return frac === undefined ? 0 : Number((frac + '00000').slice(0, 6));
}

/** STIX timestamps: RFC 3339, UTC with `Z`, any number of fractional digits. */
export function parseStixTimestampUs(text: string): number | undefined {
  const us = parseStixInstant(text);
  return us === undefined ? undefined : Number(us);
}

/**
 * A STIX timestamp (RFC 3339, UTC with `Z`, any number of fractional digits) as exact epoch
 * microseconds over the whole range STIX allows (years 0001–9999): a number loses microseconds
 * outside 1685–2255, and two distinct versions would become one.
 */
export function parseStixInstant(text: string): bigint | undefined {
  if (text.length < 20 || text[text.length - 1] !== 'Z') return undefined;
  const m = RFC3339.exec(text);
  if (!m || m[8] === undefined) return undefined;
  const ms = dateTimeMillis(m);
  return ms === undefined ? undefined : BigInt(ms) * 1000n + BigInt(fractionMicros(m[7]));
}

const pad = (n: number, w: number): string => String(n).padStart(w, '0');

/** Formats epoch microseconds as `YYYY-MM-DDTHH:MM:SS.ssssssZ`. */
export function formatTaxiiTimestamp(us: number | bigint): string {
  const big = BigInt(us);
  // Floor division (BigInt division truncates toward zero; instants before 1970 are negative).
  const ms = big / 1000n - (big % 1000n < 0n ? 1n : 0n);
  const micros = Number(big - ms * 1000n);
  const d = new Date(Number(ms));
  return (
    `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}` +
    `T${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}` +
    `.${pad(d.getUTCMilliseconds(), 3)}${pad(micros, 3)}Z`
  );
}

export function nowUs(): number {
  // Wall clock with microsecond resolution (Date.now() keeps only milliseconds).
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
}
