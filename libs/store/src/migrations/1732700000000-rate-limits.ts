import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Per-principal request rate override (issue 3); null = the server's default. */
export class RateLimits1732700000000 implements MigrationInterface {
  name = 'RateLimits1732700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE principals ADD COLUMN rate_limit_per_second double precision CHECK (rate_limit_per_second > 0)`);
    await q.query(`ALTER TABLE principals ADD COLUMN rate_limit_burst integer CHECK (rate_limit_burst > 0)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE principals DROP COLUMN rate_limit_burst`);
    await q.query(`ALTER TABLE principals DROP COLUMN rate_limit_per_second`);
  }
}
