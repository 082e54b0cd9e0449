import { validateStixObject } from '@taxiway/domain';
import sjson from 'secure-json-parse';
import { decodeUtf8 } from '../http/envelope';

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

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** The index just past the string that opens at `i` (a quote); MalformedPage if it does not close. */
function stringEnd(text: string, i: number): number {
  let j = i;
  for (;;) {
    j = text.indexOf('"', j + 1);
    if (j < 0) throw new MalformedPage('the envelope has an unterminated string');
    let k = j - 1;
    while (text.charCodeAt(k) === BACKSLASH) k--;
    if ((j - k) % 2 === 1) return j + 1;
  }
}

/** Where the top-level `objects` array and its elements lie in the text. */
interface Slices {
  array?: readonly [number, number];
  readonly elements: Array<readonly [number, number]>;
}

/** Scanner state: nesting depth, the last key read at depth 1, and the open `objects` array. */
interface Scan {
  depth: number;
  key: string | undefined;
  afterColon: boolean;
  arrayStart: number;
  elementStart: number;
  readonly out: Slices;
}

function pushElement(text: string, st: Scan, end: number, closing: boolean): void {
  let a = st.elementStart;
  let e = end;
  while (a < e && isSpace(text.charCodeAt(a))) a++;
  while (e > a && isSpace(text.charCodeAt(e - 1))) e--;
  if (e > a) st.out.elements.push([a, e]);
  else if (!closing || st.out.elements.length > 0) throw new MalformedPage('the envelope\'s "objects" list has an empty element');
}

function openBracket(st: Scan, i: number, c: number): void {
  if (st.depth === 1 && st.afterColon && st.key === 'objects' && c === 0x5b) {
    if (st.arrayStart >= 0) throw new MalformedPage('the envelope has two "objects" lists');
    st.arrayStart = i;
    st.elementStart = i + 1;
  }
  st.depth++;
}

/** True while the top-level `objects` array is open. */
const inObjects = (st: Scan): boolean => st.arrayStart >= 0 && st.out.array === undefined;

function closeBracket(text: string, st: Scan, i: number): void {
  st.depth--;
  if (st.depth < 0) throw new MalformedPage('the envelope closes more than it opens');
  if (st.depth === 1 && inObjects(st)) {
    pushElement(text, st, i, true);
    st.out.array = [st.arrayStart, i + 1];
  }
}

function comma(text: string, st: Scan, i: number): void {
  if (st.depth === 1) st.key = undefined;
  if (st.depth === 2 && inObjects(st)) {
    pushElement(text, st, i, false);
    st.elementStart = i + 1;
  }
}

/** One character outside strings. */
function structural(text: string, st: Scan, i: number): void {
  const c = text.charCodeAt(i);
  if (c === 0x7b || c === 0x5b) openBracket(st, i, c);
  else if (c === 0x7d || c === 0x5d) closeBracket(text, st, i);
  else if (c === 0x2c) comma(text, st, i);
  else if (c === 0x3a && st.depth === 1) {
    st.afterColon = true;
    return;
  }
  // A value at depth 1 has begun (or ended): the next string there is a key again.
  st.afterColon = st.afterColon && st.depth > 1;
}

/** The text ranges of the top-level `objects` array and its elements, read string-aware. */
function slice(text: string): Slices {
  const st: Scan = { depth: 0, key: undefined, afterColon: false, arrayStart: -1, elementStart: 0, out: { elements: [] } };
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      if (st.depth === 1 && !st.afterColon) st.key = text.slice(i + 1, end - 1);
      i = end;
      continue;
    }
    if (!isSpace(c)) structural(text, st, i);
    i++;
  }
  if (st.depth !== 0) throw new MalformedPage('the envelope is cut short');
  return st.out;
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

/** The envelope with its `objects` list left empty (each object is parsed on its own). */
function topLevel(text: string, s: Slices): Record<string, unknown> {
  const top = parse(s.array === undefined ? text : `${text.slice(0, s.array[0])}[]${text.slice(s.array[1])}`, 'the answer');
  if (typeof top !== 'object' || top === null || Array.isArray(top)) throw new MalformedPage('the answer is not a TAXII envelope (a JSON object)');
  const env = top as Record<string, unknown>;
  const listed = env['objects'];
  if (listed !== undefined && listed !== null && !Array.isArray(listed)) throw new MalformedPage('the envelope\'s "objects" is not a list');
  return env;
}

/** The valid objects' text and the invalid ones, in envelope order. */
function checkObjects(text: string, s: Slices, mediaTypes: readonly string[]): { objects: string[]; invalid: InvalidObject[] } {
  const objects: string[] = [];
  const invalid: InvalidObject[] = [];
  s.elements.forEach(([a, b], index) => {
    const raw = text.slice(a, b);
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
  const s = slice(text);
  const env = topLevel(text, s);
  const { objects, invalid } = checkObjects(text, s, mediaTypes);
  const next = nextToken(env['next']);
  return {
    count: s.elements.length,
    ...(typeof env['more'] === 'boolean' && { more: env['more'] }),
    ...(next !== undefined && { next }),
    objects,
    invalid,
  };
}
