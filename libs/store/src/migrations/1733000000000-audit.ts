import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Append-only audit of writes and reads (issue 3). No foreign keys: an entry outlives the API root,
 * collection and principal it names (the names are copied in). A trigger refuses UPDATE always,
 * and DELETE unless the session says it is the retention purge (`SET LOCAL taxiway.audit_purge`).
 */
export class Audit1733000000000 implements MigrationInterface {
  name = 'Audit1733000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE audit_log (
        id            bigserial PRIMARY KEY,
        at            timestamptz NOT NULL,
        api_root      text NOT NULL,
        collection    text,
        principal     text NOT NULL,
        action        text NOT NULL CHECK (action IN ('add', 'read', 'delete')),
        endpoint      text NOT NULL,
        object_count  integer NOT NULL,
        status_id     uuid,
        detail        text
      )`);
    await q.query(`CREATE INDEX audit_log_root_id ON audit_log (api_root, id DESC)`);
    await q.query(`CREATE INDEX audit_log_at ON audit_log (at)`);
    await q.query(`
      CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' AND current_setting('taxiway.audit_purge', true) = 'on' THEN RETURN OLD; END IF;
        RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP;
      END $$`);
    await q.query(`CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE audit_log`);
    await q.query(`DROP FUNCTION audit_log_append_only()`);
  }
}
