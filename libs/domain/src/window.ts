/**
 * A TAXII 1.x window over a collection's timeline: the timestamp labels (µs since the epoch) `t`
 * with `afterUs < t ≤ throughUs`. Polls, result-set parts, push deliveries and the outbox all use
 * it, and this is the one place that knows the begin is exclusive and the end inclusive
 * (Exclusive_Begin_Timestamp / Inclusive_End_Timestamp, spec/taxii-1.x.md Table 8).
 *
 * Labels have microsecond resolution, so the inclusive form of a lower bound is the exclusive one
 * plus 1 µs (TAXII 1.0 reports Inclusive_Begin_Timestamp, digest D14).
 */
export class Window {
  private constructor(
    /** Exclusive lower bound; undefined = from the start of the timeline. */
    readonly afterUs: number | undefined,
    /** Inclusive upper bound. */
    readonly throughUs: number,
  ) {}

  /** The labels in (afterUs, throughUs]. An empty window (afterUs = throughUs) is allowed; one that ends before it begins is not. */
  static of(afterUs: number | undefined, throughUs: number): Window {
    if (!Number.isSafeInteger(throughUs) || (afterUs !== undefined && !Number.isSafeInteger(afterUs))) {
      throw new RangeError(`window bounds must be integer microseconds, not (${afterUs}, ${throughUs}]`);
    }
    if (afterUs !== undefined && throughUs < afterUs) throw new RangeError(`window (${afterUs}, ${throughUs}] ends before it begins`);
    return new Window(afterUs, throughUs);
  }

  /** The window holding exactly the labels firstUs … lastUs, both included. */
  static labels(firstUs: number, lastUs: number): Window & { readonly afterUs: number } {
    return Window.of(Window.before(firstUs), lastUs) as Window & { readonly afterUs: number };
  }

  /** The exclusive lower bound of a window whose first possible label is `firstUs` (an inclusive begin). */
  static before(firstUs: number): number {
    return firstUs - 1;
  }

  /**
   * The bounds a request gives (Poll_Request, 1.0 Source_Subscription): either may be absent; when
   * both are, the end must be later than the begin ([X11] §3.8, T1X-POLL-03).
   */
  static requested(afterUs: number | undefined, throughUs: number | undefined): RequestedWindow {
    if (afterUs !== undefined && throughUs !== undefined && throughUs <= afterUs) {
      throw new InvalidWindow('Inclusive_End_Timestamp must be later than Exclusive_Begin_Timestamp');
    }
    return { afterUs, throughUs };
  }

  /**
   * The window a poll reads, fixed when it opens: the requested bounds, the end closed at the
   * collection's newest label `newestUs` (every label at or below it is committed and visible, every
   * label assigned later is above it, so the reported end is where the next poll starts). No
   * requested end, or a later one, reports `newestUs`; the window never ends before it begins.
   */
  static opened(requested: RequestedWindow, newestUs: number): Window {
    const end = requested.throughUs === undefined ? newestUs : Math.min(requested.throughUs, newestUs);
    return Window.of(requested.afterUs, requested.afterUs === undefined ? end : Math.max(end, requested.afterUs));
  }

  /**
   * Consecutive parts as stored with a result set: `[afterUs ?? null, end of part 1, …, end of the
   * last part]`; part k is (cuts[k-1], cuts[k]].
   */
  static fromCuts(cuts: readonly (number | null)[]): Window[] {
    const parts: Window[] = [];
    for (let k = 1; k < cuts.length; k++) parts.push(Window.of(cuts[k - 1] ?? undefined, cuts[k] ?? 0));
    return parts;
  }

  /** The stored form of consecutive parts (see fromCuts). */
  static toCuts(parts: readonly Window[]): (number | null)[] {
    const first = parts[0];
    return first === undefined ? [] : [first.afterUs ?? null, ...parts.map((p) => p.throughUs)];
  }

  /** No label can fall in it. */
  get empty(): boolean {
    return this.afterUs !== undefined && this.afterUs >= this.throughUs;
  }

  /** The inclusive lower bound (the first label it can hold), as TAXII 1.0 reports it; undefined without a lower bound. */
  get firstUs(): number | undefined {
    return this.afterUs === undefined ? undefined : this.afterUs + 1;
  }

  contains(labelUs: number): boolean {
    return (this.afterUs === undefined || labelUs > this.afterUs) && labelUs <= this.throughUs;
  }

  /** The part of the window up to and including `labelUs`: what is done once the records through it are served. */
  upTo(labelUs: number): Window {
    const end = Math.min(labelUs, this.throughUs);
    return Window.of(this.afterUs, this.afterUs === undefined ? end : Math.max(end, this.afterUs));
  }

  /** The part of the window after `labelUs`: what is left once the records through it are served. */
  after(labelUs: number): Window {
    const begin = this.afterUs === undefined ? labelUs : Math.max(labelUs, this.afterUs);
    return Window.of(Math.min(begin, this.throughUs), this.throughUs);
  }

  /** Cuts the window into consecutive parts, each but the last ending at one of the labels `ends` (ascending, inside the window). */
  split(ends: readonly number[]): Window[] {
    const parts: Window[] = [];
    let begin = this.afterUs;
    for (const end of ends) {
      const part = Window.of(begin, this.throughUs).upTo(end);
      if (part.throughUs !== end || part.empty) throw new RangeError(`cut ${end} is not inside ${Window.of(begin, this.throughUs).toString()}`);
      parts.push(part);
      begin = end;
    }
    parts.push(Window.of(begin, this.throughUs));
    return parts;
  }

  toString(): string {
    return `(${this.afterUs ?? '-∞'}, ${this.throughUs}]`;
  }
}

/** A request's bounds, checked (Window.requested): exclusive begin and inclusive end, each optional. */
export interface RequestedWindow {
  readonly afterUs: number | undefined;
  readonly throughUs: number | undefined;
}

/** A request whose end is not later than its begin. Protocol layers answer it as a malformed message. */
export class InvalidWindow extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidWindow';
  }
}
