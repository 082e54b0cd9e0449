import type { FeedPosition } from './feed-cursor';
import type { StixRecord } from './stix';

/** Where a feed pulls from. */
export type FeedSource = { readonly kind: 'taxii21'; readonly collectionUrl: string };

/** What and how a feed pulls, as applied from its resource (stored as the row's `spec`). */
export interface FeedSpec {
  readonly source: FeedSource;
  /** Objects per page asked of the upstream (`limit`). */
  readonly pageSize: number;
  readonly intervalSeconds: number;
  /** Up to this much is added to each interval at random, so that many feeds do not poll in step. */
  readonly jitterSeconds: number;
  /** Where a feed without a position starts (`added_after`, RFC 3339). */
  readonly startAddedAfter?: string;
  /** `match[type]` of every request. */
  readonly types?: readonly string[];
}

/** A feed leased to one puller (ADR 0017): only the holder of `claim` may move its position. */
export interface FeedClaim {
  readonly feedPk: number;
  readonly claim: string;
  readonly collectionPk: number;
  readonly spec: FeedSpec;
  /** The credentials, sealed for this row (libs/auth Sealer, context `feed:<pk>`); undefined for an open upstream. */
  readonly authSealed: string | undefined;
  /** Where the last committed page left the feed. */
  readonly position: FeedPosition;
}

/** A page of upstream objects to store, with the position it moves the feed to. */
export interface FeedPage {
  /** The page's valid objects (byte for byte as the upstream sent them), in page order. */
  readonly valid: readonly StixRecord[];
  /** Objects of the page that were not valid STIX and were skipped. */
  readonly invalid: number;
  readonly position: FeedPosition;
}

/** What storing a page did: new versions stored, versions already held, different content for a held version, refused by the quota. */
export interface FeedPageResult {
  readonly stored: number;
  readonly duplicates: number;
  readonly conflicts: number;
  readonly overQuota: number;
}

/** How a feed's turn ended: caught up, or failing (Degraded: retried later; Stalled: cannot page on by the rules). */
export type FeedTurnOutcome =
  | { readonly ok: true; readonly nextPollInMs: number }
  | { readonly ok: false; readonly state: 'degraded' | 'stalled'; readonly error: string; readonly retryInMs: number };

/** A feed's counters and state, as its status shows them. */
export interface FeedProgress {
  readonly feedPk: number;
  readonly state: 'ok' | 'degraded' | 'stalled';
  readonly position: FeedPosition;
  readonly objectsMirrored: number;
  readonly invalidSkipped: number;
  readonly conflicts: number;
  readonly lastSuccessMs: number | undefined;
  readonly lastError: string | undefined;
  /** Consecutive failed turns. */
  readonly failures: number;
}

/**
 * Feed storage port (ADR 0017): due feeds are leased to one puller at a time; a page and the
 * position it reaches commit together, through the collection's timeline, only while the claim
 * holds; no transaction spans an upstream request.
 */
export interface FeedStore {
  /** Leases up to `limit` feeds that are due and not held (or whose lease ran out). */
  claimDue(limit: number, leaseMs: number): Promise<FeedClaim[]>;
  /** Extends the lease; false when the claim was lost (another puller holds the feed now). */
  renew(claim: FeedClaim, leaseMs: number): Promise<boolean>;
  /** Stores a page and moves the position in one transaction; undefined when the claim was lost (nothing stored). */
  storePage(claim: FeedClaim, page: FeedPage): Promise<FeedPageResult | undefined>;
  /** Ends the turn: releases the lease and schedules the next one; false when the claim was lost. */
  finish(claim: FeedClaim, outcome: FeedTurnOutcome): Promise<boolean>;
  progress(feedPk: number): Promise<FeedProgress | undefined>;
}
