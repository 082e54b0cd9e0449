import { validateStixObject } from '@taxiway/domain';
import sjson from 'secure-json-parse';
import { decodeUtf8, splitObjects, type ObjectSlices } from '../http/envelope';

const SJSON = { protoAction: 'error', constructorAction: 'error' } as const;

/** An upstream answer that is not a TAXII envelope at all (not UTF-8, not JSON, not an object). */
export class MalformedPage extends Error {}

/** An object of the page that is not stored: why, and where it was in the envelope. */
export interface InvalidObject {
  readonly index: number;
  readonly id?: string;
  readonly version?: string;
  readonly message: string;
}

/** A Get Objects envelope as a feed takes it: each valid object's JSON text exactly as sent. */
export interface PageEnvelope {
  /** Objects in the envelope, valid or not (what paging compares with the page size). */
  readonly count: number;
  readonly more?: boolean;
  readonly next?: string;
  /** The valid objects' JSON text, byte for byte as the upstream sent it, in envelope order. */
  readonly objects: string[];
  readonly invalid: InvalidObject[];
}

function parse(text: string, what: string): unknown {
  try {
    return sjson.parse(text, undefined, SJSON);
  } catch (e) {
    throw new MalformedPage(`${what} is not JSON: ${(e as Error).message.slice(0, 200)}`);
  }
}

/** The item at `index` parsed, or why it is not a storable STIX object. */
function objectAt(text: string, index: number, mediaTypes: readonly string[]): { ok: true } | InvalidObject {
  let value: unknown;
  try {
    value = sjson.parse(text, undefined, SJSON);
  } catch (e) {
    // Valid JSON refused by the prototype-poisoning check is a bad object, not a bad envelope.
    JSON.parse(text);
    return { index, message: (e as Error).message.slice(0, 200) };
  }
  const v = validateStixObject(value, mediaTypes);
  return v.ok ? { ok: true } : { index, id: v.id, version: v.version, message: v.message };
}

/** The envelope's `next` as text (some servers send a number), else undefined. */
function nextToken(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  return typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined;
}

/**
 * The envelope with its `objects` list left empty (each object is parsed on its own). Without
 * slices the text has no list the scanner could follow: it must then be an envelope without
 * objects, or it is refused (an object of it could not be kept byte for byte).
 */
function topLevel(text: string, s: ObjectSlices | undefined): Record<string, unknown> {
  if (s !== undefined && s.lists > 1) throw new MalformedPage('the envelope has two "objects" lists');
  const top = parse(s === undefined ? text : `${text.slice(0, s.array[0])}[]${text.slice(s.array[1])}`, 'the answer');
  if (typeof top !== 'object' || top === null || Array.isArray(top)) throw new MalformedPage('the answer is not a TAXII envelope (a JSON object)');
  const env = top as Record<string, unknown>;
  checkListed(env['objects'], s !== undefined);
  return env;
}

/** The top-level `objects` as parsed: absent, null or a list; a list with items only when it was sliced. */
function checkListed(listed: unknown, sliced: boolean): void {
  if (listed === undefined || listed === null) return;
  if (!Array.isArray(listed)) throw new MalformedPage('the envelope\'s "objects" is not a list');
  if (!sliced && listed.length > 0) throw new MalformedPage('the envelope\'s "objects" list could not be read object by object');
}

/** The valid objects' text and the invalid ones, in envelope order. */
function checkObjects(text: string, s: ObjectSlices | undefined, mediaTypes: readonly string[]): { objects: string[]; invalid: InvalidObject[] } {
  const objects: string[] = [];
  const invalid: InvalidObject[] = [];
  (s?.starts ?? []).forEach((a, index) => {
    const raw = text.slice(a, s?.ends[index]);
    let checked: { ok: true } | InvalidObject;
    try {
      checked = objectAt(raw, index, mediaTypes);
    } catch (e) {
      throw new MalformedPage(`"objects"[${index}] is not JSON: ${(e as Error).message.slice(0, 200)}`);
    }
    if ('ok' in checked) objects.push(raw);
    else invalid.push(checked);
  });
  return { objects, invalid };
}

/**
 * Reads a Get Objects answer of an upstream: the envelope's `more` and `next`, and each object of
 * `objects` as the exact text the upstream sent (sliced out, never re-serialized: a feed stores
 * upstream content byte for byte). Objects that are not valid STIX for `mediaTypes` (the domain's
 * Add Objects validation) are listed in `invalid` and left out. An envelope without objects is an
 * empty page. Throws MalformedPage when the answer is not a JSON object in UTF-8.
 */
export function readPageEnvelope(bytes: Uint8Array, mediaTypes: readonly string[]): PageEnvelope {
  let text: string;
  try {
    text = decodeUtf8(bytes);
  } catch {
    throw new MalformedPage('the answer is not valid UTF-8');
  }
  const s = splitObjects(text, Number.MAX_SAFE_INTEGER);
  const env = topLevel(text, s);
  const { objects, invalid } = checkObjects(text, s, mediaTypes);
  const next = nextToken(env['next']);
  return {
    count: s?.starts.length ?? 0,
    ...(typeof env['more'] === 'boolean' && { more: env['more'] }),
    ...(next !== undefined && { next }),
    objects,
    invalid,
  };
}
