import type { EntityManager } from 'typeorm';
import { DomainError, type DesiredApiKey } from '@taxiway/domain';

interface KeyRow {
  id: string;
  principal_pk: number;
  name: string | null;
  secret_hash: string;
  expires_at: Date | null;
  revoked_at: Date | null;
  managed_by: 'config' | 'cli';
}

/**
 * Makes a principal's configuration-managed API keys the declared ones: new keys are inserted,
 * changed ones updated, undeclared ones revoked (kept for `key list`). Keys issued with the CLI
 * are never touched. A revoked key stays revoked even if it is declared again: rotate it instead.
 * Returns whether anything changed.
 */
export async function applyApiKeys(em: EntityManager, principalPk: number, desired: readonly DesiredApiKey[]): Promise<boolean> {
  const ids = desired.map((k) => k.id);
  const rows: KeyRow[] = await em.query(
    `SELECT id, principal_pk, name, secret_hash, expires_at, revoked_at, managed_by FROM api_keys
      WHERE id = ANY($1::text[]) OR (principal_pk = $2 AND managed_by = 'config')`,
    [ids, principalPk],
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  let changed = false;
  for (const k of desired) changed = (await upsertKey(em, principalPk, k, byId.get(k.id))) || changed;
  const stale = rows.filter((r) => r.managed_by === 'config' && r.principal_pk === principalPk && r.revoked_at === null && !ids.includes(r.id));
  if (stale.length > 0) {
    await em.query(`UPDATE api_keys SET revoked_at = now() WHERE id = ANY($1::text[])`, [stale.map((r) => r.id)]);
    changed = true;
  }
  return changed;
}

function sameKey(cur: KeyRow, k: DesiredApiKey, hash: string): boolean {
  const expires = (d: Date | null | undefined): number | null => d?.getTime() ?? null;
  return cur.name === (k.name ?? null) && cur.secret_hash === hash && expires(cur.expires_at) === expires(k.expiresAt);
}

async function upsertKey(em: EntityManager, principalPk: number, k: DesiredApiKey, cur: KeyRow | undefined): Promise<boolean> {
  if (cur !== undefined && (cur.principal_pk !== principalPk || cur.managed_by !== 'config'))
    throw new DomainError('InvalidConfig', `API key ${k.id} is already in use by another principal or was issued with the CLI; generate a new one`);
  const hash = await k.secretHash(cur?.secret_hash);
  const values = [k.id, principalPk, k.name ?? null, hash, k.expiresAt ?? null];
  if (cur === undefined) {
    await em.query(`INSERT INTO api_keys (id, principal_pk, name, secret_hash, expires_at, managed_by) VALUES ($1, $2, $3, $4, $5, 'config')`, values);
    return true;
  }
  if (sameKey(cur, k, hash)) return false;
  await em.query(`UPDATE api_keys SET name = $3, secret_hash = $4, expires_at = $5 WHERE id = $1 AND principal_pk = $2`, values);
  return true;
}
