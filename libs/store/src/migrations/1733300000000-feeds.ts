import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Feeds (ADR 0017): what to pull into which collection (the applied spec, credentials sealed for
 * the row), and the puller's state: the position of the last committed page (ADR 0016), the lease
 * that gives one puller the feed at a time, and the counters and last outcome its status shows.
 */
export class Feeds1733300000000 implements MigrationInterface {
  name = 'Feeds1733300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE feeds (
        pk               serial PRIMARY KEY,
        api_root_pk      integer NOT NULL REFERENCES api_roots(pk) ON DELETE CASCADE,
        name             text NOT NULL,
        collection_pk    integer NOT NULL REFERENCES collections(pk) ON DELETE CASCADE,
        spec             jsonb NOT NULL,
        auth_sealed      text,
        suspended        boolean NOT NULL DEFAULT false,
        position         jsonb NOT NULL DEFAULT '{}'::jsonb,
        state            text NOT NULL DEFAULT 'ok' CHECK (state IN ('ok', 'degraded', 'stalled')),
        next_poll_at     timestamptz NOT NULL DEFAULT now(),
        lease_until      timestamptz,
        -- token of the puller holding the lease: only it moves the position or ends the turn
        claim            uuid,
        objects_mirrored bigint NOT NULL DEFAULT 0,
        invalid_skipped  bigint NOT NULL DEFAULT 0,
        conflicts        bigint NOT NULL DEFAULT 0,
        failures         integer NOT NULL DEFAULT 0,
        last_success_at  timestamptz,
        last_error       text,
        last_error_at    timestamptz,
        created_at       timestamptz NOT NULL DEFAULT now(),
        UNIQUE (api_root_pk, name)
      )`);
    await q.query(`CREATE INDEX feeds_due ON feeds (next_poll_at) WHERE NOT suspended`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE feeds`);
  }
}
