import { invalidFilter } from './errors';
import { isStixId, isStixType } from './stix';
import { parseRfc3339Us, parseStixInstant } from './time';

/** `match[version]`: keywords and exact versions; several values are a union. */
export interface VersionSelector {
  readonly all: boolean;
  readonly first: boolean;
  readonly last: boolean;
  /** Exact versions as exact instants (epoch µs, bigint over years 0001–9999): `...01.000Z` equals `...01Z`. */
  readonly exact: readonly bigint[];
}

export const LAST_VERSION: VersionSelector = { all: false, first: false, last: true, exact: [] };
export const ALL_VERSIONS: VersionSelector = { all: true, first: false, last: false, exact: [] };

/** The filters of one list request, normalized (sorted, de-duplicated) so two equal sets compare equal. */
export interface ObjectFilter {
  readonly addedAfterUs?: number;
  readonly ids?: readonly string[];
  readonly types?: readonly string[];
  /** Absent = the default: `last` (objects, manifest, one object) or `all` (versions endpoint). */
  readonly versions?: VersionSelector;
  /** Absent = the default: only the latest spec version of each object. */
  readonly specVersions?: readonly string[];
}

export type Endpoint = 'objects' | 'manifest' | 'object' | 'versions' | 'delete';

/** Which parameters each endpoint takes (spec D§3); unknown `match[...]` fields are ignored (T21-FLT-07). */
const PARAMS: Record<Endpoint, ReadonlySet<string>> = {
  objects: new Set(['added_after', 'limit', 'next', 'match[id]', 'match[type]', 'match[version]', 'match[spec_version]']),
  manifest: new Set(['added_after', 'limit', 'next', 'match[id]', 'match[type]', 'match[version]', 'match[spec_version]']),
  object: new Set(['added_after', 'limit', 'next', 'match[version]', 'match[spec_version]']),
  versions: new Set(['added_after', 'limit', 'next', 'match[spec_version]']),
  delete: new Set(['match[version]', 'match[spec_version]']),
};

export interface ListQuery {
  readonly filter: ObjectFilter;
  /** True if the request carried any filter parameter (used to bind/compare `next` tokens). */
  readonly hasFilter: boolean;
  readonly limit?: number;
  readonly next?: string;
}

export type RawQuery = Readonly<Record<string, string | readonly string[] | undefined>>;

function single(query: RawQuery, name: string): string | undefined {
  const v = query[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw invalidFilter(`"${name}" must not be repeated`, { parameter: name });
  if (v === '') throw invalidFilter(`"${name}" must not be empty`, { parameter: name });
  return v;
}

function list(query: RawQuery, name: string): string[] | undefined {
  const v = single(query, name);
  if (v === undefined) return undefined;
  const values = v.split(',');
  if (values.some((x) => x === '')) throw invalidFilter(`"${name}" has an empty value`, { parameter: name });
  if (values.some((x) => x !== x.trim())) throw invalidFilter(`"${name}" values must not contain spaces`, { parameter: name });
  return values;
}

const uniqSorted = <T extends string | number | bigint>(xs: readonly T[]): T[] => [...new Set(xs)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

export function parseVersionSelector(values: readonly string[]): VersionSelector {
  const seen = new Set<string>();
  let all = false,
    first = false,
    last = false;
  const exact: bigint[] = [];
  for (const v of values) {
    if (seen.has(v)) throw invalidFilter(`match[version] repeats ${JSON.stringify(v)}`);
    seen.add(v);
    if (v === 'all') all = true;
    else if (v === 'first') first = true;
    else if (v === 'last') last = true;
    else {
      const us = parseStixInstant(v);
      if (us === undefined) throw invalidFilter(`match[version] value ${JSON.stringify(v.slice(0, 64))} is not first, last, all or a STIX timestamp`);
      if (exact.includes(us)) throw invalidFilter(`match[version] names the version ${v} twice`);
      exact.push(us);
    }
  }
  if (all && values.length > 1) throw invalidFilter('match[version]=all cannot be combined with other values');
  return { all, first, last, exact: uniqSorted(exact) };
}

function parseLimit(text: string | undefined, maxPageSize: number): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,1000}$/.test(text)) throw invalidFilter('"limit" must be a positive integer', { parameter: 'limit' });
  const n = Number(text); // any size: values above the maximum are capped, not refused
  if (n <= 0) throw invalidFilter('"limit" must be a positive integer', { parameter: 'limit' });
  return Math.min(n, maxPageSize);
}

/** True if the endpoint takes the parameter and the request carries it. */
function present(query: RawQuery, allowed: ReadonlySet<string>, name: string): boolean {
  return allowed.has(name) && query[name] !== undefined;
}

/** A comma-separated `match[...]` parameter whose every value must pass `valid`. */
interface MatchList {
  readonly name: string;
  readonly valid: (value: string) => boolean;
  readonly message: string;
}

const SPEC_VERSION_RE = /^\d+\.\d+$/;

const MATCH_ID: MatchList = { name: 'match[id]', valid: isStixId, message: 'match[id] values must be STIX identifiers (type--uuid)' };
const MATCH_TYPE: MatchList = { name: 'match[type]', valid: isStixType, message: 'match[type] values must be STIX type names' };
const MATCH_SPEC_VERSION: MatchList = {
  name: 'match[spec_version]',
  valid: (s) => SPEC_VERSION_RE.test(s),
  message: 'match[spec_version] values must look like 2.1',
};

function parseMatchList(query: RawQuery, allowed: ReadonlySet<string>, param: MatchList): string[] | undefined {
  if (!present(query, allowed, param.name)) return undefined;
  const values = list(query, param.name);
  if (values?.some((v) => !param.valid(v))) throw invalidFilter(param.message);
  return values;
}

function parseAddedAfter(query: RawQuery, allowed: ReadonlySet<string>): number | undefined {
  if (!present(query, allowed, 'added_after')) return undefined;
  const us = parseRfc3339Us(single(query, 'added_after') ?? '');
  if (us === undefined) throw invalidFilter('"added_after" must be an RFC 3339 timestamp', { parameter: 'added_after' });
  return us;
}

function parseVersions(query: RawQuery, allowed: ReadonlySet<string>): VersionSelector | undefined {
  const values = present(query, allowed, 'match[version]') ? list(query, 'match[version]') : undefined;
  return values === undefined ? undefined : parseVersionSelector(values);
}

/** The filter parameters of a request, validated in a fixed order (the first bad one is reported) and normalized. */
function parseFilter(query: RawQuery, allowed: ReadonlySet<string>): ObjectFilter {
  const addedAfterUs = parseAddedAfter(query, allowed);
  const ids = parseMatchList(query, allowed, MATCH_ID);
  const types = parseMatchList(query, allowed, MATCH_TYPE);
  const versions = parseVersions(query, allowed);
  const specs = parseMatchList(query, allowed, MATCH_SPEC_VERSION);
  return {
    ...(addedAfterUs !== undefined && { addedAfterUs }),
    ...(ids !== undefined && { ids: uniqSorted(ids) }),
    ...(types !== undefined && { types: uniqSorted(types) }),
    ...(versions !== undefined && { versions }),
    ...(specs !== undefined && { specVersions: uniqSorted(specs) }),
  };
}

/**
 * Parses and validates the query string of a TAXII list endpoint. Malformed values are refused with
 * InvalidFilter (HTTP 400, T21-FLT-01); parameters the endpoint does not define are ignored.
 */
export function parseListQuery(query: RawQuery, endpoint: Endpoint, maxPageSize: number): ListQuery {
  const allowed = PARAMS[endpoint];
  const filter = parseFilter(query, allowed);
  const limit = present(query, allowed, 'limit') ? parseLimit(single(query, 'limit'), maxPageSize) : undefined;
  const next = present(query, allowed, 'next') ? single(query, 'next') : undefined;
  return {
    filter,
    hasFilter: Object.keys(filter).length > 0,
    ...(limit !== undefined && { limit }),
    ...(next !== undefined && { next }),
  };
}

/** Canonical text of a filter, used to bind `next` tokens to the query they were issued for. */
export function filterKey(f: ObjectFilter): string {
  const v = f.versions;
  return JSON.stringify([
    f.addedAfterUs ?? null,
    f.ids ?? null,
    f.types ?? null,
    v === undefined ? null : [v.all, v.first, v.last, v.exact.map(String)],
    f.specVersions ?? null,
  ]);
}

export function filterFromKey(key: string): ObjectFilter {
  const [a, i, t, v, s] = JSON.parse(key) as [number | null, string[] | null, string[] | null, [boolean, boolean, boolean, string[]] | null, string[] | null];
  return {
    ...(a !== null && { addedAfterUs: a }),
    ...(i !== null && { ids: i }),
    ...(t !== null && { types: t }),
    ...(v !== null && { versions: { all: v[0], first: v[1], last: v[2], exact: v[3].map((x) => BigInt(x)) } }),
    ...(s !== null && { specVersions: s }),
  };
}
