import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Groups (issue 3): principals belong to groups, and groups hold API-root roles and collection
 * overrides. Collection overrides become tri-state: true grants, false denies, NULL inherits.
 */
export class Groups1732800000000 implements MigrationInterface {
  name = 'Groups1732800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE collection_grants ALTER COLUMN can_read DROP NOT NULL, ALTER COLUMN can_write DROP NOT NULL`);
    await q.query(`
      CREATE TABLE principal_groups (
        principal_pk integer NOT NULL REFERENCES principals(pk) ON DELETE CASCADE,
        group_name   text NOT NULL,
        PRIMARY KEY (principal_pk, group_name)
      )`);
    await q.query(`
      CREATE TABLE api_root_group_grants (
        api_root_pk integer NOT NULL REFERENCES api_roots(pk) ON DELETE CASCADE,
        group_name  text NOT NULL,
        role        text NOT NULL CHECK (role IN ('read', 'write', 'admin')),
        PRIMARY KEY (api_root_pk, group_name)
      )`);
    await q.query(`
      CREATE TABLE collection_group_grants (
        collection_pk integer NOT NULL REFERENCES collections(pk) ON DELETE CASCADE,
        group_name    text NOT NULL,
        can_read      boolean,
        can_write     boolean,
        PRIMARY KEY (collection_pk, group_name)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['collection_group_grants', 'api_root_group_grants', 'principal_groups']) await q.query(`DROP TABLE ${t}`);
  }
}
