import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import {
  Pacer,
  type FeedClaim,
  type FeedPage,
  type FeedPageResult,
  type FeedPosition,
  type FeedProgress,
  type FeedSpec,
  type FeedStore,
  type FeedTurnOutcome,
} from '@taxiway/domain';
import { dataSourceOf, type Connection } from './database';
import { SqlObjectStore, type StoreOutcomes } from './object-store';

interface ClaimRow {
  pk: number;
  claim: string;
  collection_pk: number;
  spec: FeedSpec;
  auth_sealed: string | null;
  position: FeedPosition;
}

interface ProgressRow {
  pk: number;
  state: FeedProgress['state'];
  position: FeedPosition;
  objects_mirrored: number;
  invalid_skipped: number;
  conflicts: number;
  failures: number;
  last_success_ms: number | null;
  last_error: string | null;
}

/** A longest error text kept (an upstream may answer with megabytes). */
const MAX_ERROR_CHARS = 500;

/**
 * Feeds in PostgreSQL (ADR 0017). (Every UPDATE … RETURNING is wrapped in a CTE: TypeORM answers a
 * bare one as [rows, count].) Due feeds are leased with `FOR UPDATE SKIP LOCKED`, so two
 * replicas never lease one feed at once; every write after that names the claim token and the
 * lease's end, so a puller whose lease ran out can neither move the position nor end the turn. A
 * page is stored through the timeline (the object store's `storeWithin`) in the transaction that
 * moves the position: a crash leaves both or neither.
 */
export class SqlFeedStore implements FeedStore {
  private readonly ds: DataSource;
  private readonly objects: SqlObjectStore;

  constructor(db: Connection) {
    this.ds = dataSourceOf(db);
    this.objects = new SqlObjectStore(db);
  }

  async claimDue(limit: number, leaseMs: number): Promise<FeedClaim[]> {
    const rows: ClaimRow[] = await this.ds.query(
      `WITH leased AS (
         UPDATE feeds f SET lease_until = now() + $2 * interval '1 millisecond', claim = $3
           FROM (SELECT pk FROM feeds
                  WHERE NOT suspended AND next_poll_at <= now() AND (lease_until IS NULL OR lease_until < now())
                  ORDER BY next_poll_at LIMIT $1 FOR UPDATE SKIP LOCKED) due
          WHERE f.pk = due.pk
          RETURNING f.pk, f.claim::text AS claim, f.collection_pk, f.spec, f.auth_sealed, f.position)
       SELECT * FROM leased`,
      [limit, leaseMs, randomUUID()],
    );
    return rows.map((r) => ({
      feedPk: r.pk,
      claim: r.claim,
      collectionPk: r.collection_pk,
      spec: r.spec,
      authSealed: r.auth_sealed ?? undefined,
      position: r.position,
    }));
  }

  async renew(c: FeedClaim, leaseMs: number): Promise<boolean> {
    const rows: unknown[] = await this.ds.query(
      `WITH renewed AS (UPDATE feeds SET lease_until = now() + $3 * interval '1 millisecond'
                         WHERE pk = $1 AND claim = $2 AND lease_until > now() RETURNING pk)
       SELECT pk FROM renewed`,
      [c.feedPk, c.claim, leaseMs],
    );
    return rows.length === 1;
  }

  async storePage(c: FeedClaim, page: FeedPage): Promise<FeedPageResult | undefined> {
    return this.ds.transaction(async (em) => {
      // The feed's row first (fencing), then the collection's timeline lock inside storeWithin: every
      // feed writer takes them in this order, and other writers take only the second.
      const held: { collection_pk: number }[] = await em.query(
        `SELECT collection_pk FROM feeds WHERE pk = $1 AND claim = $2 AND lease_until > now() FOR UPDATE`,
        [c.feedPk, c.claim],
      );
      const collectionPk = held[0]?.collection_pk;
      if (collectionPk === undefined) return undefined;
      const outcome: StoreOutcomes = new Map();
      await this.objects.storeWithin(
        em,
        collectionPk,
        page.valid.map((record, index) => ({ index, record })),
        { outcome, pacer: new Pacer() },
      );
      const result = tally(outcome);
      await em.query(
        `UPDATE feeds SET position = $2::jsonb, objects_mirrored = objects_mirrored + $3, invalid_skipped = invalid_skipped + $4, conflicts = conflicts + $5
          WHERE pk = $1`,
        [c.feedPk, JSON.stringify(page.position), result.stored, page.invalid, result.conflicts],
      );
      return result;
    });
  }

  async finish(c: FeedClaim, o: FeedTurnOutcome): Promise<boolean> {
    const rows: unknown[] = o.ok
      ? await this.ds.query(
          `WITH done AS (UPDATE feeds SET lease_until = NULL, claim = NULL, state = 'ok', failures = 0, last_success_at = now(),
                                          next_poll_at = now() + $3 * interval '1 millisecond'
                          WHERE pk = $1 AND claim = $2 AND lease_until > now() RETURNING pk)
           SELECT pk FROM done`,
          [c.feedPk, c.claim, o.nextPollInMs],
        )
      : await this.ds.query(
          `WITH done AS (UPDATE feeds SET lease_until = NULL, claim = NULL, state = $3, failures = failures + 1, last_error = $4,
                                          last_error_at = now(), next_poll_at = now() + $5 * interval '1 millisecond'
                          WHERE pk = $1 AND claim = $2 AND lease_until > now() RETURNING pk)
           SELECT pk FROM done`,
          [c.feedPk, c.claim, o.state, o.error.slice(0, MAX_ERROR_CHARS), o.retryInMs],
        );
    return rows.length === 1;
  }

  async progress(feedPk: number): Promise<FeedProgress | undefined> {
    const rows: ProgressRow[] = await this.ds.query(
      `SELECT pk, state, position, objects_mirrored, invalid_skipped, conflicts, failures,
              (extract(epoch FROM last_success_at) * 1000)::float8 AS last_success_ms, last_error
         FROM feeds WHERE pk = $1`,
      [feedPk],
    );
    const r = rows[0];
    if (r === undefined) return undefined;
    return {
      feedPk: r.pk,
      state: r.state,
      position: r.position,
      objectsMirrored: r.objects_mirrored,
      invalidSkipped: r.invalid_skipped,
      conflicts: r.conflicts,
      failures: r.failures,
      lastSuccessMs: r.last_success_ms ?? undefined,
      lastError: r.last_error ?? undefined,
    };
  }
}

/** A page's outcome counted by reason. */
function tally(outcome: StoreOutcomes): FeedPageResult {
  let stored = 0;
  let duplicates = 0;
  let conflicts = 0;
  let overQuota = 0;
  for (const o of outcome.values()) {
    const reason = o.detail.reason;
    if (reason === 'stored') stored++;
    else if (reason === 'duplicate') duplicates++;
    else if (reason === 'conflict') conflicts++;
    else if (reason === 'quota') overQuota++;
  }
  return { stored, duplicates, conflicts, overQuota };
}
