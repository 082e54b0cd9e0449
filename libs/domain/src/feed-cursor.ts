import { formatTaxiiTimestamp, parseRfc3339Us } from './time';

/**
 * Where a feed stands in an upstream TAXII 2.1 collection: what the puller persists in the same
 * transaction as the objects of the page it stored, so that a crash resumes exactly there.
 *
 * The rules that make paging lose nothing, whatever the upstream does (ADR 0016):
 * - The **mark** is the newest `date_added` the upstream reported (`X-TAXII-Date-Added-Last`) for
 *   a page that was stored. A walk restarts from it with `added_after` set **one unit of the
 *   header's precision before it** — so objects sharing the mark's instant that the page cut off
 *   are fetched again (an exclusive `added_after` at the mark would skip them, the classic lost
 *   object), and a header rounded to milliseconds cannot hide later objects in the same
 *   millisecond. What is fetched twice is the same object version, which the store keeps once.
 * - `next` is followed while the upstream gives one; an expired or refused `next` restarts from
 *   the mark (no gap: every object before the mark's page was stored with it).
 * - Without `next`, pages advance by the mark; a page that does not move it (more objects share one
 *   instant than a page holds) doubles the page size, up to a bound, rather than loop.
 * - `more` absent is read as "a full page means more".
 */
export interface FeedPosition {
  /** The upstream's `next` token of the walk in progress. */
  readonly next?: string;
  /** The `added_after` the walk in progress was started with (sent again beside `next`, as the spec asks). */
  readonly walkAddedAfter?: string;
  /** The mark, in µs since the epoch. */
  readonly markUs?: number;
  /** The fractional digits of the header the mark came from (0–6): the mark may be truncated below 6. */
  readonly markDigits?: number;
  /** The page size in use: the feed's own, doubled while pages make no progress. */
  readonly limit?: number;
}

export interface FeedPagingSettings {
  /** The feed's page size (`limit`). */
  readonly limit: number;
  /** The largest page size doubling may reach; a run of objects sharing one instant longer than this stalls the feed. */
  readonly maxLimit: number;
  /** Where a feed without a mark starts (`added_after`, µs), or undefined for the whole collection. */
  readonly startUs?: number;
}

/** The query of the next Get Objects request (`match[...]` filters are the feed's own, added by the puller). */
export interface FeedPageQuery {
  readonly added_after?: string;
  readonly next?: string;
  readonly limit: number;
}

/** What the puller read from one answer of the upstream. */
export interface UpstreamPage {
  /** Objects in the envelope. */
  readonly count: number;
  /** The envelope's `more`, if present. */
  readonly more?: boolean;
  readonly next?: string;
  /** `X-TAXII-Date-Added-Last`, as sent (absent or unparseable headers are undefined). */
  readonly dateAddedLast?: string;
}

/** Where to go after a page was stored: the new position, and whether the upstream has more now. */
export interface FeedStep {
  readonly position: FeedPosition;
  /** True when the upstream said it has nothing more for now: the feed waits for its next poll. */
  readonly caughtUp: boolean;
  /** Set when paging cannot go on by these rules (the feed goes Stalled with this reason). */
  readonly stalled?: string;
}

/** The query of the next page from this position. */
export function nextPageQuery(p: FeedPosition, s: FeedPagingSettings): FeedPageQuery {
  const limit = p.limit ?? s.limit;
  if (p.next !== undefined) return { ...(p.walkAddedAfter !== undefined && { added_after: p.walkAddedAfter }), next: p.next, limit };
  const after = restartFrom(p, s);
  return { ...(after !== undefined && { added_after: after }), limit };
}

/** The position after the page answered to `query` was stored. */
export function afterPage(p: FeedPosition, query: FeedPageQuery, page: UpstreamPage, s: FeedPagingSettings): FeedStep {
  const last = headerInstant(page.dateAddedLast);
  const { mark, moved } = advanceMark(p, last);
  if (page.next !== undefined && page.more !== false && page.count > 0) {
    return {
      position: { ...mark, next: page.next, ...(query.added_after !== undefined && { walkAddedAfter: query.added_after }), limit: query.limit },
      caughtUp: false,
    };
  }
  const more = page.more ?? page.count >= query.limit;
  if (!more || page.count === 0) return { position: { ...mark, limit: s.limit }, caughtUp: true };
  if (moved) return { position: { ...mark, limit: s.limit }, caughtUp: false };
  return fullPageInPlace(mark, query, last?.us, s);
}

/** The mark after a page whose last date_added is `last`: it only ever moves forward. */
function advanceMark(p: FeedPosition, last: { us: number; digits: number } | undefined): { mark: FeedPosition; moved: boolean } {
  if (last !== undefined && (p.markUs === undefined || last.us > p.markUs)) return { mark: { markUs: last.us, markDigits: last.digits }, moved: true };
  return { mark: markOf(p), moved: false };
}

/**
 * A full page that did not move the mark: it holds only objects of the mark's instant (or the
 * upstream sends no date headers). A larger page gets past the run; past maxLimit, the feed stalls.
 */
function fullPageInPlace(mark: FeedPosition, query: FeedPageQuery, lastUs: number | undefined, s: FeedPagingSettings): FeedStep {
  if (lastUs === undefined)
    return { position: { ...mark, limit: s.limit }, caughtUp: true, stalled: 'the upstream sends neither next nor X-TAXII-Date-Added-Last' };
  if (query.limit >= s.maxLimit) {
    const stalled = `more than ${s.maxLimit} objects share the date_added ${formatTaxiiTimestamp(lastUs)} and the upstream gives no next`;
    return { position: { ...mark, limit: s.limit }, caughtUp: true, stalled };
  }
  return { position: { ...mark, limit: Math.min(s.maxLimit, query.limit * 2) }, caughtUp: false };
}

/** After the upstream refused a `next` (expired, unknown): the walk restarts from the mark. */
export function restartWalk(p: FeedPosition, s: FeedPagingSettings): FeedPosition {
  return { ...markOf(p), limit: p.limit ?? s.limit };
}

/** The mark of a position alone. */
function markOf(p: FeedPosition): FeedPosition {
  return { ...(p.markUs !== undefined && { markUs: p.markUs }), ...(p.markDigits !== undefined && { markDigits: p.markDigits }) };
}

/** `added_after` for a walk from the mark: one unit of the header's precision before it; else the feed's start. */
function restartFrom(p: FeedPosition, s: FeedPagingSettings): string | undefined {
  if (p.markUs === undefined) return s.startUs === undefined ? undefined : formatTaxiiTimestamp(s.startUs);
  const unit = 10 ** (6 - Math.min(6, Math.max(0, p.markDigits ?? 6)));
  return formatTaxiiTimestamp(p.markUs - unit);
}

/** A date header as µs and the precision it was written with; undefined if absent or not a timestamp. */
function headerInstant(text: string | undefined): { us: number; digits: number } | undefined {
  if (text === undefined) return undefined;
  const us = parseRfc3339Us(text.trim());
  if (us === undefined) return undefined;
  const fraction = /\.(\d+)/.exec(text)?.[1];
  return { us, digits: Math.min(6, fraction?.length ?? 0) };
}
