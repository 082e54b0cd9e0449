import type { DataSource, EntityManager } from 'typeorm';
import { DomainError } from '@taxiway/domain';
import { CATALOG_CHANNEL } from './catalog-store';
import { dataSourceOf, type Connection } from './database';

export interface ApiKeyListing {
  readonly id: string;
  readonly principal: string;
  readonly name: string | undefined;
  readonly createdAt: Date;
  readonly expiresAt: Date | undefined;
  readonly revokedAt: Date | undefined;
}

/**
 * What the admin CLI does by hand: principals it manages and API keys. Every change is
 * one transaction that ends with NOTIFY, so every API replica reloads its catalogue within a second.
 */
export class SqlAdminStore {
  private readonly ds: DataSource;

  constructor(db: Connection) {
    this.ds = dataSourceOf(db);
  }

  private async change<T>(work: (em: EntityManager) => Promise<T>): Promise<T> {
    return this.ds.transaction(async (em) => {
      const out = await work(em);
      await em.query(`SELECT pg_notify($1, 'admin')`, [CATALOG_CHANNEL]);
      return out;
    });
  }

  private async principalPk(em: EntityManager, name: string): Promise<number> {
    const rows: { pk: number }[] = await em.query(`SELECT pk FROM principals WHERE name = $1`, [name]);
    const pk = rows[0]?.pk;
    if (pk === undefined) throw new DomainError('NotFound', `no principal named ${name}`);
    return pk;
  }

  /** Creates a principal managed by the CLI (a configuration file will not prune it). */
  async createPrincipal(name: string, opts: { displayName?: string; passwordHash?: string }): Promise<void> {
    await this.change(async (em) => {
      const exists: unknown[] = await em.query(`SELECT 1 FROM principals WHERE name = $1`, [name]);
      if (exists.length > 0) throw new DomainError('Conflict', `a principal named ${name} already exists`);
      await em.query(`INSERT INTO principals (name, display_name, password_hash, managed_by) VALUES ($1, $2, $3, 'cli')`, [
        name,
        opts.displayName ?? null,
        opts.passwordHash ?? null,
      ]);
    });
  }

  async insertApiKey(key: { id: string; principal: string; name?: string; secretHash: string; expiresAt?: Date }): Promise<void> {
    await this.change(async (em) => {
      const pk = await this.principalPk(em, key.principal);
      await em.query(`INSERT INTO api_keys (id, principal_pk, name, secret_hash, expires_at) VALUES ($1, $2, $3, $4, $5)`, [
        key.id,
        pk,
        key.name ?? null,
        key.secretHash,
        key.expiresAt ?? null,
      ]);
    });
  }

  /** Revokes a key; true if it existed and was live. */
  async revokeApiKey(id: string): Promise<boolean> {
    return this.change(async (em) => {
      // (TypeORM answers UPDATE … RETURNING with [rows, count]; a CTE makes it a plain SELECT.)
      const rows: { id: string }[] = await em.query(
        `WITH u AS (UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id) SELECT id FROM u`,
        [id],
      );
      return rows.length > 0;
    });
  }

  async listApiKeys(principal?: string): Promise<ApiKeyListing[]> {
    const rows: { id: string; principal: string; name: string | null; created_at: Date; expires_at: Date | null; revoked_at: Date | null }[] =
      await this.ds.query(
        `SELECT k.id, p.name AS principal, k.name, k.created_at, k.expires_at, k.revoked_at
         FROM api_keys k JOIN principals p ON p.pk = k.principal_pk
        WHERE $1::text IS NULL OR p.name = $1 ORDER BY k.created_at, k.id`,
        [principal ?? null],
      );
    return rows.map((r) => ({
      id: r.id,
      principal: r.principal,
      name: r.name ?? undefined,
      createdAt: r.created_at,
      expiresAt: r.expires_at ?? undefined,
      revokedAt: r.revoked_at ?? undefined,
    }));
  }
}
