import { randomBytes, randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { IsNull } from 'typeorm';
import type { ApplyReport, CatalogSnapshot, CatalogStore, DesiredState, DesiredStateTarget } from '@taxiway/domain';
import { ApiRootEntity, ApiRootGrantEntity, CollectionEntity, CollectionGrantEntity, PrincipalEntity } from './entities';

/** Channel on which catalogue changes are announced to every API replica. */
export const CATALOG_CHANNEL = 'taxiway_catalog';
const APPLY_LOCK = 0x7a78_0002;

export class SqlCatalogStore implements CatalogStore, DesiredStateTarget {
  constructor(private readonly ds: DataSource) {}

  async loadCatalog(): Promise<CatalogSnapshot> {
    const [roots, collections, principals, rootGrants, collectionGrants] = await Promise.all([
      this.ds.getRepository(ApiRootEntity).find({ where: { retiredAt: IsNull() }, order: { pk: 'ASC' } }),
      this.ds.getRepository(CollectionEntity).find({ where: { retiredAt: IsNull() }, order: { pk: 'ASC' } }),
      this.ds.getRepository(PrincipalEntity).find({ order: { pk: 'ASC' } }),
      this.ds.getRepository(ApiRootGrantEntity).find(),
      this.ds.getRepository(CollectionGrantEntity).find(),
    ]);
    const livePks = new Set(roots.map((r) => r.pk));
    return {
      roots: roots.map((r) => ({
        pk: r.pk,
        name: r.name,
        path: r.path,
        title: r.title,
        description: r.description ?? undefined,
        maxContentLength: Number(r.maxContentLength),
      })),
      collections: collections
        .filter((c) => livePks.has(c.apiRootPk))
        .map((c) => ({
          pk: c.pk,
          id: c.id,
          apiRootPk: c.apiRootPk,
          name: c.name,
          alias: c.alias ?? undefined,
          title: c.title,
          description: c.description ?? undefined,
          mediaTypes: c.mediaTypes,
        })),
      principals: principals.map((p) => ({
        pk: p.pk,
        name: p.name,
        displayName: p.displayName ?? undefined,
        passwordHash: p.passwordHash ?? undefined,
        disabled: p.disabled,
      })),
      rootGrants: rootGrants.map((g) => ({ apiRootPk: g.apiRootPk, principalPk: g.principalPk, role: g.role })),
      collectionGrants: collectionGrants.map((g) => ({ collectionPk: g.collectionPk, principalPk: g.principalPk, read: g.canRead, write: g.canWrite })),
    };
  }

  /** Returns the named secret, creating it (random, 32 bytes) the first time; shared by all replicas. */
  async secret(name: string): Promise<Buffer> {
    await this.ds.query(`INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, [name, randomBytes(32)]);
    const rows: { value: Buffer }[] = await this.ds.query(`SELECT value FROM server_secrets WHERE name = $1`, [name]);
    const v = rows[0]?.value;
    if (v === undefined) throw new Error(`secret ${name} missing`);
    return v;
  }

  async applyDesiredState(state: DesiredState, opts: { prune: boolean }): Promise<ApplyReport> {
    const report = { created: [] as string[], updated: [] as string[], removed: [] as string[], retained: [] as string[] };
    await this.ds.transaction(async (em) => {
      await em.query('SELECT pg_advisory_xact_lock($1)', [APPLY_LOCK]);
      const principalPk = await this.applyPrincipals(em, state, opts.prune, report);
      const rootPk = await this.applyRoots(em, state, principalPk, opts.prune, report);
      await this.applyCollections(em, state, rootPk, principalPk, opts.prune, report);
      await em.query(`SELECT pg_notify($1, 'apply')`, [CATALOG_CHANNEL]);
    });
    return report;
  }

  private async applyPrincipals(
    em: EntityManager,
    state: DesiredState,
    prune: boolean,
    report: ApplyReport & { created: string[]; updated: string[]; removed: string[] },
  ): Promise<Map<string, number>> {
    const existing: { pk: number; name: string; display_name: string | null; password_hash: string | null; disabled: boolean }[] = await em.query(
      `SELECT pk, name, display_name, password_hash, disabled FROM principals`,
    );
    const byName = new Map(existing.map((r) => [r.name, r]));
    const pks = new Map<string, number>();
    for (const p of state.principals) {
      const cur = byName.get(p.name);
      const hash = p.passwordHash === undefined ? null : ((await p.passwordHash(cur?.password_hash ?? undefined)) ?? null);
      if (cur === undefined) {
        const rows: { pk: number }[] = await em.query(
          `INSERT INTO principals (name, display_name, password_hash, disabled) VALUES ($1, $2, $3, $4) RETURNING pk`,
          [p.name, p.displayName ?? null, hash, p.disabled],
        );
        pks.set(p.name, rows[0]?.pk ?? 0);
        report.created.push(`Principal/${p.name}`);
      } else {
        pks.set(p.name, cur.pk);
        if (cur.display_name !== (p.displayName ?? null) || cur.password_hash !== hash || cur.disabled !== p.disabled) {
          await em.query(`UPDATE principals SET display_name = $2, password_hash = $3, disabled = $4, updated_at = now() WHERE pk = $1`, [
            cur.pk,
            p.displayName ?? null,
            hash,
            p.disabled,
          ]);
          report.updated.push(`Principal/${p.name}`);
        }
      }
    }
    if (prune) {
      for (const r of existing) {
        if (!pks.has(r.name)) {
          await em.query(`DELETE FROM principals WHERE pk = $1`, [r.pk]);
          report.removed.push(`Principal/${r.name}`);
        }
      }
    }
    for (const r of existing) if (!pks.has(r.name) && !prune) pks.set(r.name, r.pk);
    return pks;
  }

  private async applyRoots(
    em: EntityManager,
    state: DesiredState,
    principalPk: Map<string, number>,
    prune: boolean,
    report: ApplyReport & { created: string[]; updated: string[]; removed: string[]; retained: string[] },
  ): Promise<Map<string, number>> {
    const existing: {
      pk: number;
      name: string;
      path: string;
      title: string;
      description: string | null;
      max_content_length: number;
      deletion_policy: string;
      retired_at: Date | null;
    }[] = await em.query(`SELECT pk, name, path, title, description, max_content_length, deletion_policy, retired_at FROM api_roots`);
    const byName = new Map(existing.map((r) => [r.name, r]));
    const pks = new Map<string, number>();
    for (const r of state.apiRoots) {
      const cur = byName.get(r.name);
      let pk: number;
      if (cur === undefined) {
        const rows: { pk: number }[] = await em.query(
          `INSERT INTO api_roots (name, path, title, description, max_content_length, deletion_policy) VALUES ($1, $2, $3, $4, $5, $6) RETURNING pk`,
          [r.name, r.path, r.title, r.description ?? null, r.maxContentLength, r.deletionPolicy],
        );
        pk = rows[0]?.pk ?? 0;
        report.created.push(`ApiRoot/${r.name}`);
      } else {
        pk = cur.pk;
        const changed =
          cur.path !== r.path ||
          cur.title !== r.title ||
          cur.description !== (r.description ?? null) ||
          cur.max_content_length !== r.maxContentLength ||
          cur.deletion_policy !== r.deletionPolicy ||
          cur.retired_at !== null;
        if (changed) {
          await em.query(
            `UPDATE api_roots SET path = $2, title = $3, description = $4, max_content_length = $5, deletion_policy = $6, retired_at = NULL, updated_at = now() WHERE pk = $1`,
            [pk, r.path, r.title, r.description ?? null, r.maxContentLength, r.deletionPolicy],
          );
          report.updated.push(`ApiRoot/${r.name}`);
        }
      }
      pks.set(r.name, pk);
      await em.query(`DELETE FROM api_root_grants WHERE api_root_pk = $1`, [pk]);
      for (const g of r.grants) {
        await em.query(`INSERT INTO api_root_grants (api_root_pk, principal_pk, role) VALUES ($1, $2, $3)`, [pk, principalPk.get(g.principal), g.role]);
      }
    }
    for (const r of existing) {
      if (pks.has(r.name)) continue;
      if (!prune) {
        pks.set(r.name, r.pk);
        continue;
      }
      if (r.deletion_policy === 'Delete') {
        await em.query(`DELETE FROM api_roots WHERE pk = $1`, [r.pk]);
        report.removed.push(`ApiRoot/${r.name}`);
      } else if (r.retired_at === null) {
        await em.query(`UPDATE api_roots SET retired_at = now() WHERE pk = $1`, [r.pk]);
        await em.query(`DELETE FROM api_root_grants WHERE api_root_pk = $1`, [r.pk]);
        report.retained.push(`ApiRoot/${r.name}`);
      }
    }
    return pks;
  }

  private async applyCollections(
    em: EntityManager,
    state: DesiredState,
    rootPk: Map<string, number>,
    principalPk: Map<string, number>,
    prune: boolean,
    report: ApplyReport & { created: string[]; updated: string[]; removed: string[]; retained: string[] },
  ): Promise<void> {
    const existing: {
      pk: number;
      id: string;
      api_root_pk: number;
      name: string;
      alias: string | null;
      title: string;
      description: string | null;
      media_types: string[];
      deletion_policy: string;
      retired_at: Date | null;
    }[] = await em.query(`SELECT pk, id, api_root_pk, name, alias, title, description, media_types, deletion_policy, retired_at FROM collections`);
    const key = (root: number, name: string): string => `${root}/${name}`;
    const byKey = new Map(existing.map((c) => [key(c.api_root_pk, c.name), c]));
    const seen = new Set<number>();
    // Free aliases that change first, so that swapping aliases between collections in one apply works.
    for (const c of state.collections) {
      const root = rootPk.get(c.apiRoot);
      const cur = root === undefined ? undefined : byKey.get(key(root, c.name));
      if (cur !== undefined && cur.alias !== null && cur.alias !== (c.alias ?? null))
        await em.query(`UPDATE collections SET alias = NULL WHERE pk = $1`, [cur.pk]);
    }
    for (const c of state.collections) {
      const root = rootPk.get(c.apiRoot);
      if (root === undefined) throw new Error(`Collection ${c.name}: ApiRoot ${c.apiRoot} does not exist`);
      const cur = byKey.get(key(root, c.name));
      let pk: number;
      if (cur === undefined) {
        const rows: { pk: number }[] = await em.query(
          `INSERT INTO collections (id, api_root_pk, name, alias, title, description, media_types, deletion_policy) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING pk`,
          [c.id ?? randomUUID(), root, c.name, c.alias ?? null, c.title, c.description ?? null, c.mediaTypes, c.deletionPolicy],
        );
        pk = rows[0]?.pk ?? 0;
        report.created.push(`Collection/${c.apiRoot}/${c.name}`);
      } else {
        pk = cur.pk;
        const id = c.id ?? cur.id;
        const changed =
          cur.id !== id ||
          cur.alias !== (c.alias ?? null) ||
          cur.title !== c.title ||
          cur.description !== (c.description ?? null) ||
          cur.media_types.join('\n') !== c.mediaTypes.join('\n') ||
          cur.deletion_policy !== c.deletionPolicy ||
          cur.retired_at !== null;
        if (changed) {
          await em.query(
            `UPDATE collections SET id = $2, alias = $3, title = $4, description = $5, media_types = $6, deletion_policy = $7, retired_at = NULL, updated_at = now() WHERE pk = $1`,
            [pk, id, c.alias ?? null, c.title, c.description ?? null, c.mediaTypes, c.deletionPolicy],
          );
          report.updated.push(`Collection/${c.apiRoot}/${c.name}`);
        }
      }
      seen.add(pk);
      await em.query(`DELETE FROM collection_grants WHERE collection_pk = $1`, [pk]);
      for (const g of c.grants) {
        await em.query(`INSERT INTO collection_grants (collection_pk, principal_pk, can_read, can_write) VALUES ($1, $2, $3, $4)`, [
          pk,
          principalPk.get(g.principal),
          g.read,
          g.write,
        ]);
      }
    }
    if (!prune) return;
    for (const c of existing) {
      if (seen.has(c.pk)) continue;
      if (c.deletion_policy === 'Delete') {
        await em.query(`DELETE FROM collections WHERE pk = $1`, [c.pk]);
        report.removed.push(`Collection/${c.name}`);
      } else if (c.retired_at === null) {
        await em.query(`UPDATE collections SET retired_at = now(), alias = NULL WHERE pk = $1`, [c.pk]);
        await em.query(`DELETE FROM collection_grants WHERE collection_pk = $1`, [c.pk]);
        report.retained.push(`Collection/${c.name}`);
      }
    }
  }
}
