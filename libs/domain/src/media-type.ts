import { DomainError } from './errors';

export const TAXII_MEDIA_TYPE = 'application/taxii+json;version=2.1';
export const STIX_MEDIA_TYPE = 'application/stix+json;version=2.1';

export interface MediaRange {
  readonly type: string;
  readonly subtype: string;
  readonly params: ReadonlyMap<string, string>;
  readonly q: number;
}

/** Parses one media type or media range (`type/subtype; p=v`), lower-casing names. */
export function parseMediaRange(text: string): MediaRange | undefined {
  const parts = splitOutsideQuotes(text, ';');
  const essence = (parts.shift() ?? '').trim().toLowerCase();
  const slash = essence.indexOf('/');
  if (slash <= 0 || slash === essence.length - 1) return undefined;
  const params = new Map<string, string>();
  let q = 1;
  for (const raw of parts) {
    const eq = raw.indexOf('=');
    if (eq < 0) continue;
    const name = raw.slice(0, eq).trim().toLowerCase();
    let value = raw.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    if (name === 'q') {
      const n = Number(value);
      q = Number.isFinite(n) ? Math.min(Math.max(n, 0), 1) : 1;
    } else {
      params.set(name, value);
    }
  }
  return { type: essence.slice(0, slash).trim(), subtype: essence.slice(slash + 1).trim(), params, q };
}

function splitOutsideQuotes(text: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    if (ch === sep && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

export function parseAccept(header: string): MediaRange[] {
  return splitOutsideQuotes(header, ',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(parseMediaRange)
    .filter((r): r is MediaRange => r !== undefined);
}

const TAXII_SUBTYPES = new Set(['taxii+json', 'vnd.oasis.taxii+json']);

function versionOk(r: MediaRange): boolean {
  const v = r.params.get('version');
  return v === undefined || v === '2.1';
}

type Verdict = 'taxii21' | 'other-taxii-version' | 'generic' | 'none';

function classify(r: MediaRange, allowStix: boolean): Verdict {
  if (r.q <= 0) return 'none';
  if (r.type === 'application' && TAXII_SUBTYPES.has(r.subtype)) return versionOk(r) ? 'taxii21' : 'other-taxii-version';
  if (allowStix && r.type === 'application' && r.subtype === 'stix+json') return versionOk(r) ? 'taxii21' : 'other-taxii-version';
  if (r.type === '*' && r.subtype === '*') return 'generic';
  if (r.type === 'application' && (r.subtype === '*' || r.subtype === 'json')) return 'generic';
  return 'none';
}

/**
 * Decides whether a response in `application/taxii+json;version=2.1` satisfies the request's Accept
 * header. Lenient by design (see spec/interop.md §2): a missing header, a version-less TAXII type,
 * `*` ranges and `application/json` are all served; only headers that name nothing we can produce
 * (for example only `version=2.0`, or only `text/html`) are refused with NotAcceptable.
 */
export function negotiateAccept(header: string | undefined, opts: { allowStix?: boolean } = {}): void {
  if (header === undefined || header.trim() === '') return;
  const ranges = parseAccept(header);
  if (ranges.length === 0) return; // unparseable: be lenient, the body type is fixed anyway
  let sawOtherVersion = false;
  for (const r of ranges) {
    const v = classify(r, opts.allowStix ?? false);
    if (v === 'taxii21' || v === 'generic') return;
    if (v === 'other-taxii-version') sawOtherVersion = true;
  }
  throw new DomainError(
    'NotAcceptable',
    sawOtherVersion
      ? `This server only speaks ${TAXII_MEDIA_TYPE}; the Accept header asks for another version`
      : `The Accept header does not allow ${TAXII_MEDIA_TYPE}`,
    { accept: header.slice(0, 200) },
  );
}

/**
 * Checks a request body's Content-Type for the Add Objects endpoint. Accepted: the TAXII 2.1 type
 * (with or without version, either spelling), the STIX 2.1 type and plain `application/json`.
 */
export function checkContentType(header: string | undefined): void {
  const r = header === undefined ? undefined : parseMediaRange(header);
  if (r !== undefined && r.type === 'application') {
    if ((TAXII_SUBTYPES.has(r.subtype) || r.subtype === 'stix+json') && versionOk(r)) return;
    if (r.subtype === 'json') return;
  }
  throw new DomainError(
    'UnsupportedMediaType',
    header === undefined
      ? `A request body needs Content-Type: ${TAXII_MEDIA_TYPE}`
      : `Content-Type ${header.slice(0, 100)} is not supported; send ${TAXII_MEDIA_TYPE}`,
  );
}
