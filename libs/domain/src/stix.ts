import { parseStixInstant } from './time';

/** One object version as it is stored: the filter columns plus the original JSON text. */
export interface StixRecord {
  readonly id: string;
  readonly type: string;
  readonly specVersion: string;
  /** `modified`, else `created`, as received; undefined for objects with neither (e.g. SCOs). */
  readonly version: string | undefined;
  /** The version as an instant in exact epoch microseconds (years 0001–9999); undefined when `version` is. */
  readonly versionUs: bigint | undefined;
  readonly mediaType: string;
  /**
   * The object's JSON text, served byte for byte on every read. A large object handed over by an
   * ingest worker carries it as UTF-8 bytes (moved between threads without a copy, never decoded
   * on the event loop).
   */
  readonly raw: string | Uint8Array;
}

export type Validation =
  { readonly ok: true; readonly record: StixRecord } | { readonly ok: false; readonly id: string; readonly version: string; readonly message: string };

const TYPE_RE = /^[a-z0-9](?:[a-z0-9]|-(?!-)){1,248}[a-z0-9]$/;
const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const SPEC_RE = /^\d+\.\d+$/;

/** STIX 2.1 Cyber-observable types: their `spec_version` is optional and defaults to 2.1. */
export const SCO_TYPES: ReadonlySet<string> = new Set([
  'artifact',
  'autonomous-system',
  'directory',
  'domain-name',
  'email-addr',
  'email-message',
  'file',
  'ipv4-addr',
  'ipv6-addr',
  'mac-addr',
  'mutex',
  'network-traffic',
  'process',
  'software',
  'url',
  'user-account',
  'windows-registry-key',
  'x509-certificate',
]);

export const SUPPORTED_SPEC_VERSIONS: ReadonlySet<string> = new Set(['2.0', '2.1']);

export function isStixType(s: string): boolean {
  return TYPE_RE.test(s);
}

export function isStixId(s: string): boolean {
  const sep = s.indexOf('--');
  return sep > 0 && TYPE_RE.test(s.slice(0, sep)) && UUID_RE.test(s.slice(sep + 2));
}

/** The media type of an object version, as listed in manifests and matched against a collection's. */
export function stixMediaType(specVersion: string): string {
  return `application/stix+json;version=${specVersion}`;
}

/** True if a collection whose `media_types` are `accepted` can store objects of `specVersion`. */
export function collectionAccepts(accepted: readonly string[], specVersion: string): boolean {
  const wanted = stixMediaType(specVersion);
  return accepted.some((m) => {
    const norm = m.replace(/\s+/g, '').toLowerCase();
    return norm === wanted || norm === 'application/stix+json';
  });
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** A string as a status resource can hold it: bounded, and no U+0000 (PostgreSQL stores none). */
const printable = (s: string, max: number): string => s.slice(0, max).split('\u0000').join('\uFFFD');

function fail(id: unknown, version: unknown, message: string): Validation {
  return {
    ok: false,
    id: typeof id === 'string' && id !== '' ? printable(id, 300) : '(missing id)',
    version: typeof version === 'string' ? printable(version, 64) : '',
    message,
  };
}

function isJsonObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isWellFormedType(type: string | undefined): type is string {
  return type !== undefined && TYPE_RE.test(type);
}

function typeProblem(type: string | undefined): string {
  return type === undefined ? 'missing or non-string "type"' : `malformed "type" ${JSON.stringify(type.slice(0, 64))}`;
}

/** True if `id` is a STIX identifier of an object of `type`. */
function isIdOfType(id: unknown, type: string): id is string {
  return typeof id === 'string' && isStixId(id) && id.startsWith(type + '--');
}

function idProblem(id: unknown, type: string): string {
  return typeof id !== 'string' ? 'missing or non-string "id"' : `malformed "id": must be "${type}--<uuid>"`;
}

/** `spec_version` as posted; for observables, which may omit it, 2.1 when it is absent. */
function declaredSpecVersion(o: Record<string, unknown>, type: string): unknown {
  const specVersion = o['spec_version'];
  return specVersion === undefined && SCO_TYPES.has(type) ? '2.1' : specVersion;
}

function isWellFormedSpecVersion(specVersion: unknown): specVersion is string {
  return typeof specVersion === 'string' && SPEC_RE.test(specVersion);
}

function specVersionProblem(specVersion: unknown): string {
  return specVersion === undefined ? 'missing "spec_version"' : 'malformed "spec_version"';
}

/** Why objects of a well-formed `specVersion` cannot be stored in the collection; undefined if they can. */
function specVersionRefusal(specVersion: string, collectionMediaTypes: readonly string[]): string | undefined {
  if (!SUPPORTED_SPEC_VERSIONS.has(specVersion)) return `unsupported spec_version ${specVersion}`;
  if (!collectionAccepts(collectionMediaTypes, specVersion)) return `this collection does not accept ${stixMediaType(specVersion)}`;
  return undefined;
}

/** An optional timestamp property as exact epoch µs: undefined when absent, null when present but not a STIX timestamp. */
function optionalTimestampUs(value: unknown): bigint | undefined | null {
  if (value === undefined) return undefined;
  return (typeof value === 'string' ? parseStixInstant(value) : undefined) ?? null;
}

/** The version instant (`modified`, else `created`, else none) in exact µs, or why the timestamps are refused. */
function versionInstant(created: unknown, modified: unknown): { us: bigint | undefined } | string {
  const createdUs = optionalTimestampUs(created);
  if (createdUs === null) return 'malformed "created" timestamp';
  const modifiedUs = optionalTimestampUs(modified);
  const problem = modifiedProblem(modifiedUs, createdUs);
  if (problem !== undefined || modifiedUs === null) return problem ?? 'malformed "modified" timestamp';
  return { us: modifiedUs ?? createdUs };
}

/** Why `modified` is refused, given both timestamps as optionalTimestampUs returns them; undefined if it is fine. */
function modifiedProblem(modifiedUs: bigint | undefined | null, createdUs: bigint | undefined): string | undefined {
  if (modifiedUs === null) return 'malformed "modified" timestamp';
  if (createdUs !== undefined && modifiedUs !== undefined && modifiedUs < createdUs) return '"modified" is earlier than "created"';
  return undefined;
}

/** How deeply an object's properties may nest (STIX objects nest a handful of levels). */
export const MAX_OBJECT_DEPTH = 64;

/**
 * Why an object cannot be stored whatever its STIX validity: nesting deeper than MAX_OBJECT_DEPTH
 * (it would exhaust the database's parser stack), or a U+0000 in any key or string (PostgreSQL's
 * text and jsonb cannot hold it). One iterative pass, linear in the object's size.
 */
function storableProblem(obj: Record<string, unknown>): string | undefined {
  const stack: { v: unknown; depth: number }[] = [{ v: obj, depth: 1 }];
  while (stack.length > 0) {
    const { v, depth } = stack.pop()!;
    const problem = valueProblem(v, depth);
    if (problem !== undefined) return problem;
    if (typeof v === 'object' && v !== null) {
      for (const x of Array.isArray(v) ? v : Object.values(v)) stack.push({ v: x, depth: depth + 1 });
    }
  }
  return undefined;
}

const NUL_PROBLEM = 'contains U+0000 (NUL), which cannot be stored';

/** What is wrong with one value itself (not its children): a NUL in it or in its keys, or its depth. */
function valueProblem(v: unknown, depth: number): string | undefined {
  if (typeof v === 'string') return v.includes('\u0000') ? NUL_PROBLEM : undefined;
  if (typeof v !== 'object' || v === null) return undefined;
  if (depth > MAX_OBJECT_DEPTH) return `nests deeper than ${MAX_OBJECT_DEPTH} levels`;
  return !Array.isArray(v) && Object.keys(v).some((k) => k.includes('\u0000')) ? NUL_PROBLEM : undefined;
}

/** Why the object's spec_version cannot be stored in the collection; undefined if it can. */
function specVersionCheck(obj: Record<string, unknown>, type: string, collectionMediaTypes: readonly string[]): string | undefined {
  const specVersion = declaredSpecVersion(obj, type);
  if (!isWellFormedSpecVersion(specVersion)) return specVersionProblem(specVersion);
  return specVersionRefusal(specVersion, collectionMediaTypes);
}

/**
 * Validates one object of a posted envelope and turns it into a storable record. Never throws: an
 * invalid object becomes a failure entry for the status resource, and the envelope's valid objects
 * are still stored.
 */
export function validateStixObject(obj: unknown, collectionMediaTypes: readonly string[]): Validation {
  if (!isJsonObject(obj)) return fail(undefined, undefined, 'not a JSON object');
  const id = obj['id'];
  const modified = obj['modified'];
  const created = obj['created'];
  const versionText = str(modified) ?? str(created);
  const type = str(obj['type']);
  if (!isWellFormedType(type)) return fail(id, versionText, typeProblem(type));
  if (!isIdOfType(id, type)) return fail(id, versionText, idProblem(id, type));
  const unstorable = storableProblem(obj) ?? specVersionCheck(obj, type, collectionMediaTypes);
  if (unstorable !== undefined) return fail(id, versionText, unstorable);

  const specVersion = declaredSpecVersion(obj, type) as string;

  const version = versionInstant(created, modified);
  if (typeof version === 'string') return fail(id, versionText, version);
  return {
    ok: true,
    record: {
      id,
      type,
      specVersion,
      version: versionText,
      versionUs: version.us,
      mediaType: stixMediaType(specVersion),
      raw: JSON.stringify(obj),
    },
  };
}

/** Canonical JSON (sorted keys) used to decide whether a re-posted version is an exact duplicate. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}
