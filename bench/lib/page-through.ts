import type { StixObject } from '@taxiway/testing';
import { elapsedMs, median } from './stats';
import { headerValue, parseJsonObject, TaxiiClient } from './taxii-client';

/** What the collection must hold: the latest `modified` of every distinct id (undefined for unversioned SCOs). */
export type ExpectedLatest = ReadonlyMap<string, string | undefined>;

export function expectedLatestVersions(objects: readonly StixObject[]): ExpectedLatest {
  const latest = new Map<string, string | undefined>();
  for (const o of objects) {
    const modified = typeof o['modified'] === 'string' ? o['modified'] : undefined;
    const seen = latest.get(o.id);
    if (!latest.has(o.id) || (modified !== undefined && (seen === undefined || Date.parse(modified) > Date.parse(seen)))) latest.set(o.id, modified);
  }
  return latest;
}

export interface PageThroughPass {
  readonly objects: number;
  readonly pages: number;
  readonly seconds: number;
  readonly objectsPerSecond: number;
}

export interface PageThroughResult {
  readonly limit: number;
  readonly objects: number;
  readonly pages: number;
  /** Median over the passes. */
  readonly objectsPerSecond: number;
  readonly passes: readonly PageThroughPass[];
}

interface PassOutcome {
  readonly pass: PageThroughPass;
  /** X-TAXII-Date-Added-First of every page, in order. */
  readonly pageFirstDates: readonly string[];
}

/** Checks one page's objects against the expectation and records them as seen. */
function checkObjects(objects: unknown, expected: ExpectedLatest, seen: Set<string>, page: number): number {
  if (objects === undefined) return 0;
  if (!Array.isArray(objects)) throw new Error(`page ${page}: "objects" is not a list`);
  for (const o of objects as unknown[]) {
    const obj = typeof o === 'object' && o !== null ? (o as Record<string, unknown>) : {};
    const id = obj['id'];
    if (typeof id !== 'string') throw new Error(`page ${page}: an object has no id`);
    if (seen.has(id)) throw new Error(`page ${page}: ${id} returned twice`);
    if (!expected.has(id)) throw new Error(`page ${page}: unexpected object ${id}`);
    const want = expected.get(id);
    if (want !== undefined && obj['modified'] !== want)
      throw new Error(`page ${page}: ${id} is version ${String(obj['modified'])}, expected the latest ${want}`);
    seen.add(id);
  }
  return objects.length;
}

async function pageThroughOnce(client: TaxiiClient, collectionId: string, expected: ExpectedLatest, limit: number): Promise<PassOutcome> {
  const base = TaxiiClient.collectionPath(collectionId, 'objects');
  const maxPages = Math.ceil(expected.size / limit) + 2;
  const seen = new Set<string>();
  const pageFirstDates: string[] = [];
  let path = `${base}?limit=${limit}`;
  const start = performance.now();
  for (let page = 1; ; page++) {
    if (page > maxPages) throw new Error(`page-through did not end after ${maxPages} pages (${seen.size} objects seen)`);
    const res = await client.get(path);
    if (res.status !== 200) throw new Error(`page ${page}: HTTP ${res.status}: ${res.body.slice(0, 300)}`);
    const body = parseJsonObject(res.body, `page ${page}`);
    const count = checkObjects(body['objects'], expected, seen, page);
    const first = headerValue(res, 'x-taxii-date-added-first');
    if (count > 0 && first === undefined) throw new Error(`page ${page}: no X-TAXII-Date-Added-First header`);
    if (first !== undefined) pageFirstDates.push(first);
    if (body['more'] !== true) break;
    const next = body['next'];
    if (typeof next !== 'string' || next === '') throw new Error(`page ${page}: more=true without a next token`);
    path = `${base}?next=${encodeURIComponent(next)}`;
  }
  const seconds = elapsedMs(start) / 1000;
  if (seen.size !== expected.size) throw new Error(`page-through saw ${seen.size} distinct objects, expected ${expected.size}`);
  return { pass: { objects: seen.size, pages: pageFirstDates.length, seconds, objectsPerSecond: seen.size / seconds }, pageFirstDates };
}

export interface PageThroughOptions {
  /** The `limit` of every page request. */
  readonly limit: number;
  /** How many times to walk the whole collection. */
  readonly passes: number;
}

/**
 * Walks `next` over the whole collection `passes` times (the client parses and checks every page, as a
 * real consumer would). Also returns a date_added from the middle of the collection for `added_after`.
 */
export async function pageThrough(
  client: TaxiiClient,
  collectionId: string,
  expected: ExpectedLatest,
  opts: PageThroughOptions,
): Promise<{ result: PageThroughResult; middleDateAdded: string }> {
  const { limit, passes } = opts;
  const outcomes: PassOutcome[] = [];
  for (let i = 0; i < passes; i++) outcomes.push(await pageThroughOnce(client, collectionId, expected, limit));
  const last = outcomes[outcomes.length - 1];
  if (last === undefined) throw new Error('no page-through pass ran');
  const middleDateAdded = last.pageFirstDates[Math.floor(last.pageFirstDates.length / 2)];
  if (middleDateAdded === undefined) throw new Error('the collection is empty');
  const runs = outcomes.map((o) => o.pass);
  return {
    result: { limit, objects: last.pass.objects, pages: last.pass.pages, objectsPerSecond: median(runs.map((r) => r.objectsPerSecond)), passes: runs },
    middleDateAdded,
  };
}
