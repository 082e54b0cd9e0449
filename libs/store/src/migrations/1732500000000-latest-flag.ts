import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `latest`: true when no other version of the object in the collection ranks higher by
 * (spec_version, version). Maintained under the collection lock by every write and delete, it lets
 * the default `match[version]=last` read skip the per-row version probes (ADR 0003).
 */
export class LatestFlag1732500000000 implements MigrationInterface {
  name = 'LatestFlag1732500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE objects ADD COLUMN latest boolean NOT NULL DEFAULT true`);
    await q.query(`
      UPDATE objects o SET latest = false
       WHERE EXISTS (SELECT 1 FROM objects b
                      WHERE b.collection_pk = o.collection_pk AND b.stix_id = o.stix_id
                        AND (b.spec_version > o.spec_version OR (b.spec_version = o.spec_version AND b.version_us > o.version_us)))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE objects DROP COLUMN latest`);
  }
}
