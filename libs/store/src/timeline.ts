import type { EntityManager } from 'typeorm';
import type { Window } from '@taxiway/domain';

/**
 * A collection's timeline: the one order in which everything added to a collection becomes
 * visible, to TAXII 2.1 readers (date_added, seq) and TAXII 1.x polls (timestamp labels) alike
 * (ADR 0002). Every write to a collection, whatever the protocol, goes through this module:
 *
 * 1. `lockTimeline` takes the collection row's lock for the rest of the transaction. Writers of
 *    one collection commit one after the other, so positions are handed out in commit order and
 *    nothing can become visible behind a position a reader already holds.
 * 2. An insert draws its positions from `allocatePositions`: the next `n` sequence numbers and
 *    strictly increasing wall-clock microseconds.
 * 3. `recordAppended` counts what was stored against the collection's quota and queues it for
 *    TAXII 1.x push subscriptions; `recordRemoved` uncounts what a delete removed.
 *
 * Feeds and retention write through the same functions.
 */

/** The collection's quota, read under the lock. */
export interface TimelineQuota {
  readonly objectCount: number;
  readonly maxObjects: number | null;
}

/** Takes the collection's write lock until the transaction ends; its quota as of now. */
export async function lockTimeline(em: EntityManager, collectionPk: number): Promise<TimelineQuota | undefined> {
  const [row] = await em.query<{ object_count: number; max_objects: number | null }[]>(
    `SELECT object_count, max_objects FROM collections WHERE pk = $1 FOR NO KEY UPDATE`,
    [collectionPk],
  );
  return row === undefined ? undefined : { objectCount: row.object_count, maxObjects: row.max_objects };
}

/**
 * A CTE named `alloc` that takes the next `count` positions of collection `pk` (SQL expressions,
 * usually parameters): item k of the insert (k = 1 … count) gets sequence `alloc.seq0 + k` and
 * instant `alloc.added0 + k`. Used inside the transaction that holds the collection's lock.
 */
export function allocatePositions(pk: string, count: string): string {
  return `alloc AS (
  UPDATE collections
     SET last_seq = last_seq + ${count},
         last_added_us = GREATEST(last_added_us + ${count},
                                  (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::bigint + ${count} - 1)
   WHERE pk = ${pk}
  RETURNING last_seq - ${count} AS seq0, last_added_us - ${count} AS added0
)`;
}

/** What one insert appended to a collection: how many items, at the labels of `window`. */
export interface Appended {
  readonly collectionPk: number;
  readonly count: number;
  /** From the first label taken through the last (Window.labels). */
  readonly window: Window;
  /** STIX 2.1 objects (queued only for push subscriptions that take that binding), or TAXII 1.x content blocks. */
  readonly stix21: boolean;
}

/** Counts the appended items against the quota and queues one outbox entry per push subscription of the collection. */
export async function recordAppended(em: EntityManager, a: Appended): Promise<void> {
  if (a.count === 0) return;
  await em.query(`UPDATE collections SET object_count = object_count + $2 WHERE pk = $1`, [a.collectionPk, a.count]);
  const filter = a.stix21 ? `AND content_bindings @> '[{"id": "${STIX21_BINDING_ID}"}]'::jsonb` : '';
  await em.query(
    `INSERT INTO taxii1_outbox (subscription_pk, begin_us, end_us)
     SELECT pk, $2, $3 FROM taxii1_subscriptions WHERE collection_pk = $1 AND push_address IS NOT NULL ${filter}`,
    [a.collectionPk, a.window.afterUs ?? null, a.window.throughUs],
  );
}

/** Uncounts items a delete removed (under the lock). */
export async function recordRemoved(em: EntityManager, collectionPk: number, count: number): Promise<void> {
  if (count > 0) await em.query(`UPDATE collections SET object_count = object_count - $2 WHERE pk = $1`, [collectionPk, count]);
}

/** The TAXII 1.x content binding of STIX 2.1 JSON. */
export const STIX21_BINDING_ID = 'urn:oasis:names:tc:stix:json:2.1';
