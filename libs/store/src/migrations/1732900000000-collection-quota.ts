import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Per-collection object quota (issue 3): a limit, and a count kept under the collection lock. */
export class CollectionQuota1732900000000 implements MigrationInterface {
  name = 'CollectionQuota1732900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE collections ADD COLUMN max_objects bigint CHECK (max_objects > 0), ADD COLUMN object_count bigint NOT NULL DEFAULT 0`);
    await q.query(`UPDATE collections c SET object_count = (SELECT count(*) FROM objects o WHERE o.collection_pk = c.pk)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE collections DROP COLUMN object_count, DROP COLUMN max_objects`);
  }
}
