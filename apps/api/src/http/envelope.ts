import sjson from 'secure-json-parse';

const SJSON = { protoAction: 'error', constructorAction: 'error' } as const;

/** An envelope with more objects than allowed, found while scanning, before any of them was parsed. */
export class TooManyObjects extends Error {
  constructor(readonly max: number) {
    super(`The envelope holds more than ${max} objects; this server takes at most ${max} per request`);
  }
}

/** Where the elements of the top-level `"objects"` array lie in the text, and where the array itself is. */
export interface ObjectSlices {
  /** [start, end) of the (last) array, brackets included. */
  readonly array: readonly [number, number];
  /** [starts[k], ends[k]) is element k. */
  readonly starts: readonly number[];
  readonly ends: readonly number[];
  /** How many top-level `"objects"` arrays the text has (JSON parsers keep the last; a feed refuses more than one). */
  readonly lists: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** The index just past the string that opens at `i` (a quote), or -1 if it does not close. */
function stringEnd(text: string, i: number): number {
  let j = i;
  for (;;) {
    j = text.indexOf('"', j + 1);
    if (j < 0) return -1;
    let k = j - 1;
    while (text.charCodeAt(k) === BACKSLASH) k--;
    if ((j - k) % 2 === 1) return j + 1;
  }
}

/** Scanner state across slices. */
interface ScanState {
  i: number;
  depth: number;
  /** The last string read at depth 1, and whether a ':' followed it (so a value of that key comes next). */
  key: string | undefined;
  afterColon: boolean;
  inObjects: boolean;
  arrayStart: number;
  elementStart: number;
  starts: number[];
  ends: number[];
  lists: number;
  split: ObjectSlices | undefined;
  /** Stop as soon as the array holds more elements than this. */
  readonly maxElements: number;
}

/**
 * Records the element that ended at `end` (exclusive, surrounding whitespace trimmed). False for an
 * empty element other than that of `[]` (a stray or trailing comma), so the text is parsed whole
 * and refused as JSON parsing would refuse it.
 */
function closeElement(text: string, st: ScanState, end: number, last: boolean): boolean {
  let a = st.elementStart;
  let e = end;
  while (a < e && isSpace(text.charCodeAt(a))) a++;
  while (e > a && isSpace(text.charCodeAt(e - 1))) e--;
  if (e > a) {
    st.starts.push(a);
    st.ends.push(e);
    if (st.starts.length > st.maxElements) throw new TooManyObjects(st.maxElements);
  }
  return e > a || (last && st.starts.length === 0);
}

function open(st: ScanState, c: number): void {
  if (st.depth === 1 && st.afterColon && st.key === 'objects' && c === 0x5b /* [ */) {
    st.inObjects = true;
    st.lists++;
    st.arrayStart = st.i;
    st.starts = [];
    st.ends = [];
    st.elementStart = st.i + 1;
  }
  st.depth++;
}

function close(text: string, st: ScanState): boolean {
  st.depth--;
  if (st.inObjects && st.depth === 1) {
    if (!closeElement(text, st, st.i, true)) return false;
    st.split = { array: [st.arrayStart, st.i + 1], starts: st.starts, ends: st.ends, lists: st.lists };
    st.inObjects = false;
  }
  return st.depth >= 0;
}

function comma(text: string, st: ScanState): boolean {
  if (st.depth === 1) st.key = undefined;
  if (!st.inObjects || st.depth !== 2) return true;
  if (!closeElement(text, st, st.i, false)) return false;
  st.elementStart = st.i + 1;
  return true;
}

/** One character outside strings; false when the text is not an envelope this scanner follows. */
function structural(text: string, st: ScanState, c: number): boolean {
  let ok = true;
  if (c === 0x7b /* { */ || c === 0x5b /* [ */) open(st, c);
  else if (c === 0x7d /* } */ || c === 0x5d /* ] */) ok = close(text, st);
  else if (c === 0x2c /* , */) ok = comma(text, st);
  else if (c === 0x3a /* : */ && st.depth === 1) {
    st.afterColon = true;
    return true;
  }
  // A value at depth 1 has begun (or ended): the next string there is a key again.
  st.afterColon = st.afterColon && st.depth > 1;
  return ok;
}

/** Scans the text; false when it cannot be split (the caller parses it whole). */
function scan(text: string, st: ScanState): boolean {
  while (st.i < text.length) {
    const c = text.charCodeAt(st.i);
    if (c === QUOTE) {
      const end = stringEnd(text, st.i);
      if (end < 0) return false;
      if (st.depth === 1 && !st.afterColon) st.key = text.slice(st.i + 1, end - 1);
      st.i = end;
      continue;
    }
    if (!isSpace(c) && !structural(text, st, c)) return false;
    st.i++;
  }
  return true;
}

/**
 * The elements of the envelope's top-level "objects" array, found by a string-aware scan without
 * parsing (TooManyObjects past `maxElements`); undefined if the text has no such array or is not
 * JSON the scanner can follow (parsing it whole gives the error). Add Objects and feed pages
 * (feeds/page-envelope.ts) both read envelopes through it.
 */
export function splitObjects(text: string, maxElements: number): ObjectSlices | undefined {
  const st: ScanState = {
    i: 0,
    depth: 0,
    key: undefined,
    afterColon: false,
    inObjects: false,
    arrayStart: 0,
    elementStart: 0,
    starts: [],
    ends: [],
    lists: 0,
    split: undefined,
    maxElements,
  };
  while (st.i < text.length && isSpace(text.charCodeAt(st.i))) st.i++;
  if (text.charCodeAt(st.i) !== 0x7b) return undefined;
  if (!scan(text, st)) return undefined;
  return st.depth === 0 ? st.split : undefined;
}

/**
 * Parses a TAXII envelope (or STIX bundle): the text is scanned for the top-level `objects` array,
 * the rest of the envelope is parsed with the array left empty, and each element is parsed on its
 * own, so the object cap is enforced before any element is parsed and no single parse holds more
 * than one object. What the scanner does not follow (no such array, malformed text) is parsed in
 * one step, which gives the same errors. Prototype-poisoning keys are refused everywhere
 * (secure-json-parse). Synchronous: large envelopes are parsed off the event loop, in an ingest
 * worker (ingest/ingest-pool.ts).
 */
export function parseEnvelope(text: string, maxObjects = Number.MAX_SAFE_INTEGER): unknown {
  const s = splitObjects(text, maxObjects);
  if (s === undefined) return sjson.parse(text, undefined, SJSON);
  const top: unknown = sjson.parse(`${text.slice(0, s.array[0])}[]${text.slice(s.array[1])}`, undefined, SJSON);
  if (typeof top !== 'object' || top === null || Array.isArray(top)) return top;
  const objects: unknown[] = new Array<unknown>(s.starts.length);
  for (let k = 0; k < s.starts.length; k++) objects[k] = sjson.parse(text.slice(s.starts[k], s.ends[k]), undefined, SJSON);
  (top as Record<string, unknown>)['objects'] = objects;
  return top;
}

/** UTF-8 bytes to text, refusing invalid UTF-8 (throws TypeError) rather than replacing it (RFC 8259 §8.1). */
export function decodeUtf8(bytes: Uint8Array): string {
  return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
}
