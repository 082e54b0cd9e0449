import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * API keys (issue 3) and who manages a principal: `config` (the declarative documents, pruned by
 * them) or `cli` (created by the admin CLI, never pruned by a config apply).
 */
export class ApiKeys1732600000000 implements MigrationInterface {
  name = 'ApiKeys1732600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE principals ADD COLUMN managed_by text NOT NULL DEFAULT 'config' CHECK (managed_by IN ('config', 'cli'))`);
    await q.query(`
      CREATE TABLE api_keys (
        id           text PRIMARY KEY,
        principal_pk integer NOT NULL REFERENCES principals(pk) ON DELETE CASCADE,
        name         text,
        secret_hash  text NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        expires_at   timestamptz,
        revoked_at   timestamptz
      )`);
    await q.query(`CREATE INDEX api_keys_principal ON api_keys (principal_pk)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE api_keys`);
    await q.query(`ALTER TABLE principals DROP COLUMN managed_by`);
  }
}
