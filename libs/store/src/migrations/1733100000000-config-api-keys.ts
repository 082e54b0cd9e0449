import type { MigrationInterface, QueryRunner } from 'typeorm';

/** API keys declared in the configuration (`Principal.spec.apiKeys`) next to the CLI's, which it never touches. */
export class ConfigApiKeys1733100000000 implements MigrationInterface {
  name = 'ConfigApiKeys1733100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE api_keys ADD COLUMN managed_by text NOT NULL DEFAULT 'cli' CHECK (managed_by IN ('config', 'cli'))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE api_keys DROP COLUMN managed_by`);
  }
}
