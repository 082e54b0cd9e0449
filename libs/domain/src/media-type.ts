import { DomainError } from './errors';

export const TAXII_MEDIA_TYPE = 'application/taxii+json;version=2.1';

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
    const value = unquote(raw.slice(eq + 1).trim());
    if (name === 'q') q = parseQuality(value);
    else params.set(name, value);
  }
  return { type: essence.slice(0, slash).trim(), subtype: essence.slice(slash + 1).trim(), params, q };
}

/** A parameter value without its surrounding double quotes, if it has them. */
function unquote(value: string): string {
  return value.startsWith('"') && value.endsWith('"') && value.length >= 2 ? value.slice(1, -1) : value;
}

/** A `q` weight, clamped to 0..1; unparseable weights count as 1. */
function parseQuality(value: string): number {
  const n = Number(value);
  return Number.isFinite(n) ? Math.min(Math.max(n, 0), 1) : 1;
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

/** A TAXII type in either spelling, or (where STIX is served too) the STIX type; any version. */
function namesTaxiiType(r: MediaRange, allowStix: boolean): boolean {
  return r.type === 'application' && (TAXII_SUBTYPES.has(r.subtype) || (allowStix && r.subtype === 'stix+json'));
}

/** Any type, any application subtype, or `application/json`: ranges a JSON response satisfies. */
function isGenericRange(r: MediaRange): boolean {
  return (r.type === '*' && r.subtype === '*') || (r.type === 'application' && (r.subtype === '*' || r.subtype === 'json'));
}

function classify(r: MediaRange, allowStix: boolean): Verdict {
  if (r.q <= 0) return 'none';
  if (namesTaxiiType(r, allowStix)) return versionOk(r) ? 'taxii21' : 'other-taxii-version';
  return isGenericRange(r) ? 'generic' : 'none';
}

/** Verdicts a TAXII 2.1 response satisfies. */
function servable(v: Verdict): boolean {
  return v === 'taxii21' || v === 'generic';
}

/** The first servable verdict among the ranges; else 'other-taxii-version' if some range asked for one, else 'none'. */
function bestVerdict(ranges: readonly MediaRange[], allowStix: boolean): Verdict {
  let sawOtherVersion = false;
  for (const r of ranges) {
    const v = classify(r, allowStix);
    if (servable(v)) return v;
    if (v === 'other-taxii-version') sawOtherVersion = true;
  }
  return sawOtherVersion ? 'other-taxii-version' : 'none';
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
  const verdict = bestVerdict(ranges, opts.allowStix ?? false);
  if (servable(verdict)) return;
  throw new DomainError(
    'NotAcceptable',
    verdict === 'other-taxii-version'
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
