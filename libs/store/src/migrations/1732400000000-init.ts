import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Initial schema. Append-only: never edit a released migration, add a new one. */
export class Init1732400000000 implements MigrationInterface {
  name = 'Init1732400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE api_roots (
        pk                 serial PRIMARY KEY,
        name               text NOT NULL UNIQUE,
        path               text NOT NULL UNIQUE,
        title              text NOT NULL,
        description        text,
        max_content_length bigint NOT NULL CHECK (max_content_length > 0),
        deletion_policy    text NOT NULL DEFAULT 'Retain' CHECK (deletion_policy IN ('Retain', 'Delete')),
        retired_at         timestamptz,
        created_at         timestamptz NOT NULL DEFAULT now(),
        updated_at         timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE collections (
        pk              serial PRIMARY KEY,
        id              uuid NOT NULL UNIQUE,
        api_root_pk     integer NOT NULL REFERENCES api_roots(pk) ON DELETE CASCADE,
        name            text NOT NULL,
        alias           text,
        title           text NOT NULL,
        description     text,
        media_types     text[] NOT NULL,
        deletion_policy text NOT NULL DEFAULT 'Retain' CHECK (deletion_policy IN ('Retain', 'Delete')),
        retired_at      timestamptz,
        -- ordering state: the last (date_added, seq) handed out, updated under the row lock held to commit
        last_seq        bigint NOT NULL DEFAULT 0,
        last_added_us   bigint NOT NULL DEFAULT 0,
        created_at      timestamptz NOT NULL DEFAULT now(),
        updated_at      timestamptz NOT NULL DEFAULT now(),
        UNIQUE (api_root_pk, name),
        UNIQUE (api_root_pk, alias)
      )`);
    await q.query(`
      CREATE TABLE principals (
        pk            serial PRIMARY KEY,
        name          text NOT NULL UNIQUE,
        display_name  text,
        password_hash text,
        disabled      boolean NOT NULL DEFAULT false,
        created_at    timestamptz NOT NULL DEFAULT now(),
        updated_at    timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE api_root_grants (
        api_root_pk  integer NOT NULL REFERENCES api_roots(pk) ON DELETE CASCADE,
        principal_pk integer NOT NULL REFERENCES principals(pk) ON DELETE CASCADE,
        role         text NOT NULL CHECK (role IN ('read', 'write', 'admin')),
        PRIMARY KEY (api_root_pk, principal_pk)
      )`);
    await q.query(`
      CREATE TABLE collection_grants (
        collection_pk integer NOT NULL REFERENCES collections(pk) ON DELETE CASCADE,
        principal_pk  integer NOT NULL REFERENCES principals(pk) ON DELETE CASCADE,
        can_read      boolean NOT NULL,
        can_write     boolean NOT NULL,
        PRIMARY KEY (collection_pk, principal_pk)
      )`);
    // One row per object version per collection. raw is the object's JSON text, served as stored.
    await q.query(`
      CREATE TABLE objects (
        collection_pk integer NOT NULL REFERENCES collections(pk) ON DELETE CASCADE,
        stix_id       text NOT NULL,
        version_us    bigint NOT NULL,
        seq           bigint NOT NULL,
        date_added_us bigint NOT NULL,
        type          text NOT NULL,
        spec_version  text NOT NULL,
        version       text,
        unversioned   boolean NOT NULL,
        media_type    text NOT NULL,
        raw           text NOT NULL,
        PRIMARY KEY (collection_pk, stix_id, version_us)
      )`);
    await q.query(`CREATE UNIQUE INDEX objects_order ON objects (collection_pk, date_added_us, seq)`);
    await q.query(`CREATE INDEX objects_type_order ON objects (collection_pk, type, date_added_us, seq)`);
    await q.query(`CREATE UNIQUE INDEX objects_unversioned ON objects (collection_pk, stix_id) WHERE unversioned`);
    await q.query(`
      CREATE TABLE statuses (
        id                   uuid PRIMARY KEY,
        api_root_pk          integer NOT NULL REFERENCES api_roots(pk) ON DELETE CASCADE,
        collection_pk        integer REFERENCES collections(pk) ON DELETE SET NULL,
        principal_pk         integer,
        status               text NOT NULL CHECK (status IN ('pending', 'complete')),
        request_timestamp_us bigint NOT NULL,
        total_count          integer NOT NULL,
        successes            jsonb NOT NULL,
        failures             jsonb NOT NULL,
        pendings             jsonb NOT NULL,
        created_at           timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX statuses_created_at ON statuses (created_at)`);
    await q.query(`CREATE TABLE server_secrets (name text PRIMARY KEY, value bytea NOT NULL)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['server_secrets', 'statuses', 'objects', 'collection_grants', 'api_root_grants', 'principals', 'collections', 'api_roots']) {
      await q.query(`DROP TABLE IF EXISTS ${t}`);
    }
  }
}
