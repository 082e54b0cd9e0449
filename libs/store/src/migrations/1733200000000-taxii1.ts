import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * TAXII 1.x: content blocks, subscriptions, multi-part result sets and the push outbox (ADR 0010).
 * Content blocks take their Timestamp Labels from the collection's ordering state (last_added_us,
 * last_seq), the same clock that gives STIX 2.1 objects their date_added, so one collection has one
 * timeline whichever protocol wrote to it.
 */
export class Taxii11733200000000 implements MigrationInterface {
  name = 'Taxii11733200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE content_blocks (
        collection_pk integer NOT NULL REFERENCES collections(pk) ON DELETE CASCADE,
        label_us      bigint NOT NULL,
        seq           bigint NOT NULL,
        binding       text NOT NULL,
        subtype       text,
        content       text NOT NULL,
        content_ns    jsonb NOT NULL DEFAULT '{}'::jsonb,
        message       text,
        bytes         integer NOT NULL,
        principal_pk  integer,
        PRIMARY KEY (collection_pk, label_us)
      )`);
    await q.query(`CREATE INDEX content_blocks_binding ON content_blocks (collection_pk, binding, label_us)`);
    // STIX 1.x packages are usually above the TOAST threshold: lz4 compresses them about twice as
    // fast as the default pglz (measured 4.0 vs 7.6 ms per 100 blocks of 3 KB). Builds without lz4
    // (PGlite) keep pglz.
    await q.query(`DO $$ BEGIN ALTER TABLE content_blocks ALTER COLUMN content SET COMPRESSION lz4; EXCEPTION WHEN OTHERS THEN NULL; END $$`);
    await q.query(`
      CREATE TABLE taxii1_subscriptions (
        pk                   serial PRIMARY KEY,
        id                   text NOT NULL UNIQUE,
        collection_pk        integer NOT NULL REFERENCES collections(pk) ON DELETE CASCADE,
        principal_pk         integer NOT NULL REFERENCES principals(pk) ON DELETE CASCADE,
        version              text NOT NULL CHECK (version IN ('1.0', '1.1')),
        status               text NOT NULL CHECK (status IN ('ACTIVE', 'PAUSED')),
        response_type        text NOT NULL CHECK (response_type IN ('FULL', 'COUNT_ONLY')),
        content_bindings     jsonb NOT NULL,
        push_protocol        text,
        push_address         text,
        push_message_binding text,
        fingerprint          text NOT NULL,
        created_at           timestamptz NOT NULL DEFAULT now(),
        UNIQUE (collection_pk, principal_pk, fingerprint)
      )`);
    await q.query(`
      CREATE TABLE taxii1_result_sets (
        id               uuid PRIMARY KEY,
        collection_pk    integer NOT NULL REFERENCES collections(pk) ON DELETE CASCADE,
        principal_pk     integer NOT NULL,
        subscription_id  text,
        content_bindings jsonb NOT NULL,
        -- cuts[0] is the exclusive lower bound (null = none); part k holds labels in (cuts[k-1], cuts[k]]
        cuts             jsonb NOT NULL,
        record_count     integer NOT NULL,
        expires_at       timestamptz NOT NULL
      )`);
    await q.query(`CREATE INDEX taxii1_result_sets_expiry ON taxii1_result_sets (expires_at)`);
    await q.query(`
      CREATE TABLE taxii1_outbox (
        pk               bigserial PRIMARY KEY,
        subscription_pk  integer NOT NULL REFERENCES taxii1_subscriptions(pk) ON DELETE CASCADE,
        begin_us         bigint NOT NULL,
        end_us           bigint NOT NULL,
        state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
        attempts         integer NOT NULL DEFAULT 0,
        next_attempt_at  timestamptz NOT NULL DEFAULT now(),
        lease_until      timestamptz,
        -- token of the worker holding the lease: only it records the outcome
        claim            uuid,
        -- the give-up clock starts at the first failure, not at queueing (a paused backlog is not stale)
        first_failed_at  timestamptz,
        last_error       text,
        blocks_delivered integer NOT NULL DEFAULT 0,
        created_at       timestamptz NOT NULL DEFAULT now(),
        finished_at      timestamptz
      )`);
    await q.query(`CREATE INDEX taxii1_outbox_pending ON taxii1_outbox (subscription_pk, pk) WHERE state = 'pending'`);
    await q.query(`CREATE INDEX taxii1_outbox_finished ON taxii1_outbox (finished_at) WHERE state <> 'pending'`);
    // The scrape-time counts read pending and failed rows only, never the delivered history.
    await q.query(`CREATE INDEX taxii1_outbox_failed ON taxii1_outbox (pk) WHERE state = 'failed'`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['taxii1_outbox', 'taxii1_result_sets', 'taxii1_subscriptions', 'content_blocks']) await q.query(`DROP TABLE IF EXISTS ${t}`);
  }
}
