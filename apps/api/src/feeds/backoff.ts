/** How long retries of a failing feed wait: exponential growth from `baseMs`, capped at `maxMs`. */
export interface BackoffSettings {
  readonly baseMs: number;
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffSettings = { baseMs: 1000, maxMs: 15 * 60 * 1000 };

/**
 * The wait before retry number `attempt` (0 for the first retry): exponential backoff with full
 * jitter, uniform in [0, min(maxMs, baseMs × 2^attempt)], so that feeds failing together (an
 * upstream down for everyone) do not retry in step. `random` returns [0, 1); pass a fixed source
 * for a deterministic wait. Whole milliseconds.
 */
export function backoff(attempt: number, settings: BackoffSettings = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const ceiling = backoffCeiling(attempt, settings);
  return Math.floor(ceiling * Math.min(1, Math.max(0, random())));
}

/** The largest wait backoff() may choose for `attempt`: min(maxMs, baseMs × 2^attempt). */
export function backoffCeiling(attempt: number, { baseMs, maxMs }: BackoffSettings): number {
  const n = Number.isFinite(attempt) ? Math.min(Math.max(0, Math.floor(attempt)), 52) : 52;
  return Math.max(0, Math.min(maxMs, baseMs * 2 ** n));
}
