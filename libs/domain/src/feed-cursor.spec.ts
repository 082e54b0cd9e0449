import { describe, expect, it } from 'vitest';
import { afterPage, nextPageQuery, restartWalk, type FeedPageQuery, type FeedPagingSettings, type FeedPosition, type UpstreamPage } from './feed-cursor';
import { formatTaxiiTimestamp, parseRfc3339Us } from './time';

/** How an upstream server pages, as the ones we mirror differ. */
interface Flavour {
  /** `added_after` compared as ≥ instead of > (OpenCTI's loop). */
  readonly inclusive?: boolean;
  /** Gives `next` tokens. */
  readonly next?: boolean;
  /** Fractional digits of its date headers (3 = milliseconds, truncated). */
  readonly digits?: number;
  /** Rounds its headers up to that precision instead of truncating. */
  readonly roundUp?: boolean;
  /** Omits `more`. */
  readonly noMore?: boolean;
  /** Sends no date headers. */
  readonly noHeaders?: boolean;
}

/** An upstream collection: objects in date_added order (µs), paged by the rules of a flavour. */
class Upstream {
  readonly objects: { id: string; us: number }[] = [];
  private readonly walks = new Map<string, number>();
  private tokens = 0;
  constructor(private readonly f: Flavour) {}

  add(us: number): void {
    this.objects.push({ id: `o${this.objects.length}`, us });
    this.objects.sort((a, b) => a.us - b.us);
  }

  get(q: FeedPageQuery): UpstreamPage & { ids: string[] } {
    let start: number;
    if (q.next !== undefined) {
      const at = this.walks.get(q.next);
      if (at === undefined) throw new Error('expired');
      start = at;
    } else {
      const after = q.added_after === undefined ? undefined : parseRfc3339Us(q.added_after);
      start = this.objects.findIndex((o) => after === undefined || (this.f.inclusive === true ? o.us >= after : o.us > after));
      if (start === -1) start = this.objects.length;
    }
    const page = this.objects.slice(start, start + q.limit);
    const more = start + page.length < this.objects.length;
    let next: string | undefined;
    if (this.f.next === true && more) {
      next = `t${++this.tokens}`;
      this.walks.set(next, start + page.length);
    }
    const last = page.at(-1);
    return {
      ids: page.map((o) => o.id),
      count: page.length,
      ...(this.f.noMore !== true && { more }),
      ...(next !== undefined && { next }),
      ...(last !== undefined && this.f.noHeaders !== true && { dateAddedLast: this.header(last.us) }),
    };
  }

  expireTokens(): void {
    this.walks.clear();
  }

  private header(us: number): string {
    const digits = this.f.digits ?? 6;
    const unit = 10 ** (6 - digits);
    const shown = this.f.roundUp === true ? Math.ceil(us / unit) * unit : Math.floor(us / unit) * unit;
    const text = formatTaxiiTimestamp(shown);
    return digits === 6 ? text : `${text.slice(0, 20 + digits - (digits === 0 ? 1 : 0))}Z`;
  }
}

const SETTINGS: FeedPagingSettings = { limit: 5, maxLimit: 80 };

/** Polls until caught up (or stalled); returns what was received and the position. */
function poll(up: Upstream, from: FeedPosition, s = SETTINGS): { got: string[]; position: FeedPosition; requests: number; stalled?: string } {
  let position = from;
  const got: string[] = [];
  for (let requests = 1; requests < 1000; requests++) {
    const q = nextPageQuery(position, s);
    let page: ReturnType<Upstream['get']>;
    try {
      page = up.get(q);
    } catch {
      position = restartWalk(position, s);
      continue;
    }
    got.push(...page.ids);
    const step = afterPage(position, q, page, s);
    position = step.position;
    if (step.caughtUp) return { got, position, requests, ...(step.stalled !== undefined && { stalled: step.stalled }) };
  }
  throw new Error('did not catch up in 1000 requests');
}

/** A deterministic pseudo-random sequence (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BASE = Date.UTC(2026, 0, 1) * 1000;

/** Objects in bursts: many share one instant, many share one millisecond. */
function burst(up: Upstream, rnd: () => number, n: number, from: number): number {
  let us = from;
  for (let i = 0; i < n; i++) {
    const r = rnd();
    us += r < 0.4 ? 0 : r < 0.8 ? Math.floor(rnd() * 900) : Math.floor(rnd() * 5_000_000);
    up.add(us);
  }
  return us;
}

const FLAVOURS: [string, Flavour][] = [
  ['exclusive added_after with next (medallion-like)', { next: true }],
  ['exclusive added_after without next', {}],
  ['inclusive added_after without next', { inclusive: true }],
  ['inclusive added_after with next', { inclusive: true, next: true }],
  ['millisecond headers, truncated', { digits: 3 }],
  ['millisecond headers, rounded up', { digits: 3, roundUp: true }],
  ['second headers, no more', { digits: 0, noMore: true }],
];

describe('feed paging loses no object, whatever the upstream does', () => {
  for (const [name, flavour] of FLAVOURS) {
    it(`${name}: every object of every poll arrives, objects added between polls too`, () => {
      const rnd = random(name.length * 7919);
      const up = new Upstream(flavour);
      let us = burst(up, rnd, 57, BASE);
      let position: FeedPosition = {};
      const seen = new Set<string>();
      for (let round = 0; round < 6; round++) {
        const r = poll(up, position);
        expect(r.stalled).toBeUndefined();
        r.got.forEach((id) => seen.add(id));
        position = r.position;
        expect([...seen].sort()).toEqual(up.objects.map((o) => o.id).sort());
        us = burst(up, rnd, 1 + Math.floor(rnd() * 20), us);
      }
    });
  }

  it('re-reads only the objects at the mark when nothing is new (an idle poll is one small request)', () => {
    const up = new Upstream({ next: true });
    for (let i = 0; i < 12; i++) up.add(BASE + i * 1000);
    const first = poll(up, {});
    const idle = poll(up, first.position);
    expect(idle.requests).toBe(1);
    expect(idle.got).toEqual(['o11']);
  });

  it('restarts an expired next from the mark without a gap', () => {
    const up = new Upstream({ next: true });
    for (let i = 0; i < 30; i++) up.add(BASE + Math.floor(i / 3) * 10);
    const q = nextPageQuery({}, SETTINGS);
    const page = up.get(q);
    const step = afterPage({}, q, page, SETTINGS);
    expect(step.position.next).toBeDefined();
    up.expireTokens();
    const rest = poll(up, step.position);
    expect(new Set([...page.ids, ...rest.got])).toEqual(new Set(up.objects.map((o) => o.id)));
  });

  it('sends the walk’s added_after again beside next, as the spec asks', () => {
    const q1 = nextPageQuery({ markUs: BASE + 5, markDigits: 6 }, SETTINGS);
    expect(q1).toEqual({ added_after: formatTaxiiTimestamp(BASE + 4), limit: 5 });
    const step = afterPage({ markUs: BASE + 5 }, q1, { count: 5, more: true, next: 'n1', dateAddedLast: formatTaxiiTimestamp(BASE + 9) }, SETTINGS);
    expect(nextPageQuery(step.position, SETTINGS)).toEqual({ added_after: formatTaxiiTimestamp(BASE + 4), next: 'n1', limit: 5 });
  });

  it('gets past more objects sharing one instant than a page holds by doubling the page, without next', () => {
    const up = new Upstream({});
    for (let i = 0; i < 23; i++) up.add(BASE);
    up.add(BASE + 1);
    const r = poll(up, {});
    expect(r.stalled).toBeUndefined();
    expect(new Set(r.got).size).toBe(24);
    expect(r.position.limit).toBe(SETTINGS.limit);
  });

  it('stalls with a reason instead of looping when a shared instant outgrows maxLimit', () => {
    const up = new Upstream({});
    for (let i = 0; i < 100; i++) up.add(BASE);
    up.add(BASE + 1);
    const r = poll(up, {});
    expect(r.stalled).toMatch(/more than 80 objects share the date_added/);
  });

  it('stalls with a reason when the upstream sends neither next nor date headers', () => {
    const up = new Upstream({ noHeaders: true });
    for (let i = 0; i < 12; i++) up.add(BASE + i);
    expect(poll(up, {}).stalled).toMatch(/neither next nor X-TAXII-Date-Added-Last/);
  });

  it('starts at the feed’s start instant, exclusive, and never moves the mark backwards', () => {
    expect(nextPageQuery({}, { ...SETTINGS, startUs: BASE })).toEqual({ added_after: formatTaxiiTimestamp(BASE), limit: 5 });
    const step = afterPage(
      { markUs: BASE + 100, markDigits: 6 },
      { limit: 5 },
      { count: 1, more: false, dateAddedLast: formatTaxiiTimestamp(BASE + 50) },
      SETTINGS,
    );
    expect(step.position.markUs).toBe(BASE + 100);
  });

  it('reads an absent more as "a full page means more", and an empty page as caught up', () => {
    const full = afterPage({}, { limit: 5 }, { count: 5, dateAddedLast: formatTaxiiTimestamp(BASE + 5) }, SETTINGS);
    expect(full.caughtUp).toBe(false);
    const short = afterPage({}, { limit: 5 }, { count: 4, dateAddedLast: formatTaxiiTimestamp(BASE + 5) }, SETTINGS);
    expect(short.caughtUp).toBe(true);
    expect(afterPage({}, { limit: 5 }, { count: 0, more: true, next: 'n' }, SETTINGS).caughtUp).toBe(true);
  });

  it('widens the restart by one unit of a truncated header: a millisecond, a second', () => {
    expect(nextPageQuery({ markUs: BASE + 5000, markDigits: 3 }, SETTINGS).added_after).toBe(formatTaxiiTimestamp(BASE + 4000));
    expect(nextPageQuery({ markUs: BASE + 5_000_000, markDigits: 0 }, SETTINGS).added_after).toBe(formatTaxiiTimestamp(BASE + 4_000_000));
  });
});
