import { parseStixTimestampUs } from './time';

/** One object version as it is stored: the filter columns plus the original JSON text. */
export interface StixRecord {
  readonly id: string;
  readonly type: string;
  readonly specVersion: string;
  /** `modified`, else `created`, as received; undefined for objects with neither (e.g. SCOs). */
  readonly version: string | undefined;
  /** The version as an instant in epoch microseconds; undefined when `version` is. */
  readonly versionUs: number | undefined;
  readonly mediaType: string;
  /** The object's JSON text, served byte for byte on every read. */
  readonly raw: string;
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

function fail(id: unknown, version: unknown, message: string): Validation {
  return {
    ok: false,
    id: typeof id === 'string' && id !== '' ? id.slice(0, 300) : '(missing id)',
    version: typeof version === 'string' ? version.slice(0, 64) : '',
    message,
  };
}

/**
 * Validates one object of a posted envelope and turns it into a storable record. Never throws: an
 * invalid object becomes a failure entry for the status resource, and the envelope's valid objects
 * are still stored.
 */
export function validateStixObject(obj: unknown, collectionMediaTypes: readonly string[]): Validation {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return fail(undefined, undefined, 'not a JSON object');
  const o = obj as Record<string, unknown>;
  const id = o['id'];
  const modified = o['modified'];
  const created = o['created'];
  const versionText = str(modified) ?? str(created);
  const type = str(o['type']);
  if (type === undefined) return fail(id, versionText, 'missing or non-string "type"');
  if (!TYPE_RE.test(type)) return fail(id, versionText, `malformed "type" ${JSON.stringify(type.slice(0, 64))}`);
  if (typeof id !== 'string') return fail(id, versionText, 'missing or non-string "id"');
  if (!isStixId(id) || !id.startsWith(type + '--')) return fail(id, versionText, `malformed "id": must be "${type}--<uuid>"`);

  let specVersion = o['spec_version'];
  if (specVersion === undefined && SCO_TYPES.has(type)) specVersion = '2.1';
  if (specVersion === undefined) return fail(id, versionText, 'missing "spec_version"');
  if (typeof specVersion !== 'string' || !SPEC_RE.test(specVersion)) return fail(id, versionText, 'malformed "spec_version"');
  if (!SUPPORTED_SPEC_VERSIONS.has(specVersion)) return fail(id, versionText, `unsupported spec_version ${specVersion}`);
  if (!collectionAccepts(collectionMediaTypes, specVersion)) return fail(id, versionText, `this collection does not accept ${stixMediaType(specVersion)}`);

  let createdUs: number | undefined;
  if (created !== undefined) {
    createdUs = typeof created === 'string' ? parseStixTimestampUs(created) : undefined;
    if (createdUs === undefined) return fail(id, versionText, 'malformed "created" timestamp');
  }
  let modifiedUs: number | undefined;
  if (modified !== undefined) {
    modifiedUs = typeof modified === 'string' ? parseStixTimestampUs(modified) : undefined;
    if (modifiedUs === undefined) return fail(id, versionText, 'malformed "modified" timestamp');
    if (createdUs !== undefined && modifiedUs < createdUs) return fail(id, versionText, '"modified" is earlier than "created"');
  }
  return {
    ok: true,
    record: {
      id,
      type,
      specVersion,
      version: versionText,
      versionUs: modifiedUs ?? createdUs,
      mediaType: stixMediaType(specVersion),
      raw: JSON.stringify(o),
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
