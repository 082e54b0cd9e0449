import { badRequest, DomainError, unprocessable, validateStixObject, type ErrorCode, type StatusDetail, type StixRecord } from '@taxiway/domain';
import { decodeUtf8, parseEnvelope, TooManyObjects } from '../http/envelope';

/** What an Add Objects envelope is checked against. */
export interface PrepareOptions {
  /** The collection's media types (which STIX versions it takes). */
  readonly mediaTypes: readonly string[];
  /** Objects an envelope may hold (refused with 413 past it). */
  readonly maxObjects: number;
}

/** A valid object of the envelope, at its position in the envelope. */
export interface ValidEntry {
  readonly index: number;
  readonly record: StixRecord;
}

/** An object refused on its own (the rest of the envelope is still stored). */
export interface InvalidEntry {
  readonly index: number;
  readonly detail: StatusDetail;
}

/** Entries of consecutive positions, as they are handed over (a worker posts one message per batch). */
export interface PreparedBatch {
  readonly valid: ValidEntry[];
  readonly invalid: InvalidEntry[];
}

/** Why the envelope as a whole is refused, as plain data (it crosses a thread boundary). */
export interface EnvelopeRefusal {
  readonly code: ErrorCode;
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

export type PrepareOutcome = { readonly ok: true; readonly total: number } | { readonly ok: false; readonly refusal: EnvelopeRefusal };

/** Raw JSON characters per batch handed over: a receiving event loop takes each batch in a millisecond or two. */
const BATCH_CHARS = 1024 * 1024;

/**
 * An object whose JSON is longer is handed over as UTF-8 bytes: a string crosses threads by copy,
 * which for 100 MB holds the receiving event loop for 70 ms or more; bytes are moved.
 */
const BYTES_OVER_CHARS = 1024 * 1024;

/**
 * Turns an Add Objects body into storable records: decodes it (invalid UTF-8 is refused, not
 * replaced: RFC 8259 §8.1), parses it (http/envelope.ts: the object cap holds before any object is
 * parsed), checks the envelope's shape, and validates and serializes each object, handing the
 * entries to `emit` in batches of about BATCH_CHARS of JSON. Synchronous and pure: it runs in an
 * ingest worker for large bodies, inline for small ones (ingest-pool.ts). Never throws: a refusal of
 * the whole envelope (400, 413, 422) is returned as data.
 */
export function prepareEnvelope(bytes: Uint8Array, opts: PrepareOptions, emit: (batch: PreparedBatch) => void): PrepareOutcome {
  try {
    const objects = envelopeObjects(parseBody(bytes, opts.maxObjects), opts.maxObjects);
    let batch: PreparedBatch = { valid: [], invalid: [] };
    let chars = 0;
    for (let index = 0; index < objects.length; index++) {
      const v = validateStixObject(objects[index], opts.mediaTypes);
      // The parsed object is no longer needed: its serialized text is what is stored.
      objects[index] = undefined;
      if (v.ok) {
        const raw = v.record.raw;
        batch.valid.push({ index, record: typeof raw === 'string' && raw.length > BYTES_OVER_CHARS ? { ...v.record, raw: Buffer.from(raw) } : v.record });
        chars += raw.length;
      } else {
        batch.invalid.push({ index, detail: { id: v.id, version: v.version, message: v.message, reason: 'invalid' } });
        chars += 200;
      }
      if (chars >= BATCH_CHARS) {
        emit(batch);
        batch = { valid: [], invalid: [] };
        chars = 0;
      }
    }
    if (batch.valid.length + batch.invalid.length > 0) emit(batch);
    return { ok: true, total: objects.length };
  } catch (e) {
    if (e instanceof DomainError) return { ok: false, refusal: { code: e.code, message: e.message, details: e.details } };
    throw e;
  }
}

/** The body as JSON; 400 if it is not UTF-8, empty or not JSON; 413 past the object cap. */
function parseBody(bytes: Uint8Array, maxObjects: number): unknown {
  let text: string;
  try {
    text = decodeUtf8(bytes);
  } catch {
    throw badRequest('The request body is not valid UTF-8');
  }
  if (text.trim() === '') throw badRequest('The request body is empty; send a TAXII envelope');
  try {
    return parseEnvelope(text, maxObjects);
  } catch (e) {
    if (e instanceof TooManyObjects) throw new DomainError('PayloadTooLarge', e.message, { max_objects: e.max });
    throw badRequest(`The request body is not valid JSON: ${(e as Error).message.slice(0, 200)}`);
  }
}

/** The `objects` list of a TAXII envelope (a STIX bundle is accepted too); otherwise 422, or 413 past the cap. */
function envelopeObjects(body: unknown, maxObjects: number): unknown[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw unprocessable('The request body must be a TAXII envelope: {"objects": [...]}');
  const objects = (body as Record<string, unknown>)['objects'];
  if (!Array.isArray(objects)) throw unprocessable('The envelope has no "objects" list');
  if (objects.length === 0) throw unprocessable('The envelope\'s "objects" list is empty');
  if (objects.length > maxObjects) {
    throw new DomainError('PayloadTooLarge', `The envelope holds ${objects.length} objects; this server takes at most ${maxObjects} per request`, {
      max_objects: maxObjects,
    });
  }
  refuseNonObjects(objects);
  return objects;
}

/**
 * 422 naming the first item of `objects` that is not a JSON object (a number, string, null or list):
 * such an envelope cannot be processed at all, so nothing of it is stored. Items that are objects but
 * not valid STIX are per-object failures in the status instead.
 */
function refuseNonObjects(objects: readonly unknown[]): void {
  const index = objects.findIndex((o) => typeof o !== 'object' || o === null || Array.isArray(o));
  if (index === -1) return;
  const item = objects[index];
  const kind = item === null ? 'null' : Array.isArray(item) ? 'a list' : `a ${typeof item}`;
  throw unprocessable(`"objects"[${index}] is ${kind}, not a JSON object; every item of the envelope's "objects" list must be a STIX object`, { index });
}
