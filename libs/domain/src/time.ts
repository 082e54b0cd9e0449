/**
 * Timestamps. TAXII timestamps are emitted with exactly six fractional digits; on input any RFC 3339
 * precision is accepted. Instants are carried as integer microseconds since the epoch (they fit a
 * JavaScript number exactly until the year 2255), never as Date, which keeps only milliseconds.
 */

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,12}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** Parses an RFC 3339 timestamp into epoch microseconds (sub-microsecond digits are truncated). */
export function parseRfc3339Us(text: string, opts: { utcOnly?: boolean } = {}): number | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [, ys, mos, ds, hs, mis, ss, frac, z, sign, oh, om] = m;
  if (opts.utcOnly === true && z === undefined) return undefined;
  const y = Number(ys),
    mo = Number(mos),
    d = Number(ds),
    h = Number(hs),
    mi = Number(mis),
    s = Number(ss);
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return undefined;
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const check = new Date(ms);
  if (check.getUTCDate() !== d || check.getUTCMonth() !== mo - 1) return undefined; // 2021-02-30
  let offsetMin = 0;
  if (sign !== undefined) {
    const ohn = Number(oh),
      omn = Number(om);
    if (ohn > 23 || omn > 59) return undefined;
    offsetMin = (sign === '+' ? 1 : -1) * (ohn * 60 + omn);
  }
  const micros = frac === undefined ? 0 : Number((frac + '00000').slice(0, 6));
  return (ms - offsetMin * 60_000) * 1000 + micros;
}

/** STIX timestamps: RFC 3339, UTC with `Z`, any number of fractional digits. */
export function parseStixTimestampUs(text: string): number | undefined {
  if (text.length < 20 || text[text.length - 1] !== 'Z') return undefined;
  return parseRfc3339Us(text, { utcOnly: true });
}

const pad = (n: number, w: number): string => String(n).padStart(w, '0');

/** Formats epoch microseconds as `YYYY-MM-DDTHH:MM:SS.ssssssZ`. */
export function formatTaxiiTimestamp(us: number): string {
  const ms = Math.floor(us / 1000);
  const micros = us - ms * 1000;
  const d = new Date(ms);
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
