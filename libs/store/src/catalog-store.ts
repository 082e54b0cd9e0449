import { randomBytes, randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { applyApiKeys } from './apply-keys';
import type {
  ApplyReport,
  Role,
  CatalogSnapshot,
  CatalogStore,
  DesiredApiRoot,
  DesiredCollection,
  DesiredPrincipal,
  DesiredState,
  ApplyOptions,
  PruneExemptions,
  DesiredStateTarget,
} from '@taxiway/domain';
import { dataSourceOf, type Connection } from './database';

/** Channel on which catalogue changes are announced to every API replica. */
export const CATALOG_CHANNEL = 'taxiway_catalog';
const APPLY_LOCK = 0x7a78_0002;

export class SqlCatalogStore implements CatalogStore, DesiredStateTarget {
  private readonly ds: DataSource;

  constructor(db: Connection) {
    this.ds = dataSourceOf(db);
  }

  async loadCatalog(): Promise<CatalogSnapshot> {
    const [roots, collections, principals, rootGrants, collectionGrants, apiKeys, memberships, groupRootGrants, groupCollectionGrants] = await Promise.all([
      this.ds.query<{ pk: number; name: string; path: string; title: string; description: string | null; maxContentLength: number }[]>(
        `SELECT pk, name, path, title, description, max_content_length AS "maxContentLength" FROM api_roots WHERE retired_at IS NULL ORDER BY pk`,
      ),
      this.ds.query<
        { pk: number; id: string; apiRootPk: number; name: string; alias: string | null; title: string; description: string | null; mediaTypes: string[] }[]
      >(
        `SELECT pk, id, api_root_pk AS "apiRootPk", name, alias, title, description, media_types AS "mediaTypes"
           FROM collections WHERE retired_at IS NULL ORDER BY pk`,
      ),
      this.ds.query<
        {
          pk: number;
          name: string;
          displayName: string | null;
          passwordHash: string | null;
          disabled: boolean;
          rateLimitPerSecond: number | null;
          rateLimitBurst: number | null;
        }[]
      >(
        `SELECT pk, name, display_name AS "displayName", password_hash AS "passwordHash", disabled,
                rate_limit_per_second AS "rateLimitPerSecond", rate_limit_burst AS "rateLimitBurst"
           FROM principals ORDER BY pk`,
      ),
      this.ds.query<{ apiRootPk: number; principalPk: number; role: Role }[]>(
        `SELECT api_root_pk AS "apiRootPk", principal_pk AS "principalPk", role FROM api_root_grants`,
      ),
      this.ds.query<{ collectionPk: number; principalPk: number; canRead: boolean | null; canWrite: boolean | null }[]>(
        `SELECT collection_pk AS "collectionPk", principal_pk AS "principalPk", can_read AS "canRead", can_write AS "canWrite" FROM collection_grants`,
      ),
      this.ds.query<ApiKeyRow[]>(`SELECT id, principal_pk, name, secret_hash, expires_at FROM api_keys WHERE revoked_at IS NULL`),
      this.ds.query<{ principal_pk: number; group_name: string }[]>(`SELECT principal_pk, group_name FROM principal_groups ORDER BY group_name`),
      this.ds.query<{ api_root_pk: number; group_name: string; role: Role }[]>(`SELECT api_root_pk, group_name, role FROM api_root_group_grants`),
      this.ds.query<{ collection_pk: number; group_name: string; can_read: boolean | null; can_write: boolean | null }[]>(
        `SELECT collection_pk, group_name, can_read, can_write FROM collection_group_grants`,
      ),
    ]);
    const groupsOf = new Map<number, string[]>();
    for (const m of memberships) groupsOf.set(m.principal_pk, [...(groupsOf.get(m.principal_pk) ?? []), m.group_name]);
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
        groups: groupsOf.get(p.pk) ?? [],
        rateLimit:
          p.rateLimitPerSecond === null
            ? undefined
            : { perSecond: p.rateLimitPerSecond, burst: p.rateLimitBurst ?? Math.max(1, Math.ceil(p.rateLimitPerSecond)) },
      })),
      rootGrants: rootGrants.map((g) => ({ apiRootPk: g.apiRootPk, principalPk: g.principalPk, role: g.role })),
      collectionGrants: collectionGrants.map((g) => ({
        collectionPk: g.collectionPk,
        principalPk: g.principalPk,
        read: g.canRead ?? undefined,
        write: g.canWrite ?? undefined,
      })),
      groupRootGrants: groupRootGrants.map((g) => ({ apiRootPk: g.api_root_pk, group: g.group_name, role: g.role })),
      groupCollectionGrants: groupCollectionGrants.map((g) => ({
        collectionPk: g.collection_pk,
        group: g.group_name,
        read: g.can_read ?? undefined,
        write: g.can_write ?? undefined,
      })),
      apiKeys: apiKeys.map((k) => ({
        id: k.id,
        principalPk: k.principal_pk,
        name: k.name ?? undefined,
        secretHash: k.secret_hash,
        expiresAtMs: k.expires_at === null ? undefined : k.expires_at.getTime(),
      })),
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

  /** Every stored principal's name, and which of them the CLI manages (the operator leaves those alone). */
  async principalOwners(): Promise<{ stored: Set<string>; cliManaged: Set<string> }> {
    const rows: { name: string; managed_by: string }[] = await this.ds.query(`SELECT name, managed_by FROM principals`);
    return { stored: new Set(rows.map((r) => r.name)), cliManaged: new Set(rows.filter((r) => r.managed_by === 'cli').map((r) => r.name)) };
  }

  /** The id of every live collection, by `apiRoot/name`. */
  async collectionIds(): Promise<Map<string, string>> {
    const rows: { root: string; name: string; id: string }[] = await this.ds.query(
      `SELECT r.name AS root, c.name, c.id FROM collections c JOIN api_roots r ON r.pk = c.api_root_pk WHERE c.retired_at IS NULL`,
    );
    return new Map(rows.map((r) => [`${r.root}/${r.name}`, r.id]));
  }

  async applyDesiredState(state: DesiredState, opts: ApplyOptions): Promise<ApplyReport> {
    const report: MutableReport = { created: [], updated: [], removed: [], retained: [] };
    await this.ds.transaction(async (em) => {
      const run: ApplyRun = { em, prune: opts.prune, keep: opts.keep ?? {}, report };
      await em.query('SELECT pg_advisory_xact_lock($1)', [APPLY_LOCK]);
      const principalPk = await applyPrincipals(run, state.principals);
      const rootPk = await applyRoots(run, state.apiRoots, principalPk);
      await applyCollections(run, state.collections, { rootPk, principalPk });
      // Replicas reload only when something changed: a transaction that wrote nothing has no id.
      const [tx] = await em.query<{ wrote: boolean }[]>(`SELECT pg_current_xact_id_if_assigned() IS NOT NULL AS wrote`);
      if (tx?.wrote === true) await em.query(`SELECT pg_notify($1, 'apply')`, [CATALOG_CHANNEL]);
    });
    return report;
  }
}

type MutableReport = { -readonly [K in keyof ApplyReport]: string[] };

/** What every step of one apply shares: its transaction, whether to prune, and the report it adds to. */
interface ApplyRun {
  readonly em: EntityManager;
  readonly prune: boolean;
  readonly keep: PruneExemptions;
  readonly report: MutableReport;
}

interface ApiKeyRow {
  id: string;
  principal_pk: number;
  name: string | null;
  secret_hash: string;
  expires_at: Date | null;
}

interface PrincipalRow {
  pk: number;
  name: string;
  display_name: string | null;
  password_hash: string | null;
  disabled: boolean;
  managed_by: 'config' | 'cli';
  rate_limit_per_second: number | null;
  rate_limit_burst: number | null;
}

interface ApiRootRow {
  pk: number;
  name: string;
  path: string;
  title: string;
  description: string | null;
  max_content_length: number;
  deletion_policy: string;
  retired_at: Date | null;
}

interface CollectionRow {
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
  max_objects: number | null;
}

/** Rows a prune may remove (Delete policy) or retire (Retain policy). */
interface PrunableRow {
  pk: number;
  name: string;
  deletion_policy: string;
  retired_at: Date | null;
}

/** How a prune removes or retires one kind of resource: retiring hides it, drops its grants and keeps its data. */
interface PruneStatements {
  readonly kind: string;
  readonly remove: string;
  readonly retire: readonly string[];
}

const PRUNE_API_ROOT: PruneStatements = {
  kind: 'ApiRoot',
  remove: `DELETE FROM api_roots WHERE pk = $1`,
  retire: [
    `UPDATE api_roots SET retired_at = now() WHERE pk = $1`,
    `DELETE FROM api_root_grants WHERE api_root_pk = $1`,
    `DELETE FROM api_root_group_grants WHERE api_root_pk = $1`,
  ],
};

const PRUNE_COLLECTION: PruneStatements = {
  kind: 'Collection',
  remove: `DELETE FROM collections WHERE pk = $1`,
  retire: [
    `UPDATE collections SET retired_at = now(), alias = NULL WHERE pk = $1`,
    `DELETE FROM collection_grants WHERE collection_pk = $1`,
    `DELETE FROM collection_group_grants WHERE collection_pk = $1`,
  ],
};

async function prune(run: ApplyRun, how: PruneStatements, row: PrunableRow): Promise<void> {
  if (row.deletion_policy === 'Delete') {
    await run.em.query(how.remove, [row.pk]);
    run.report.removed.push(`${how.kind}/${row.name}`);
  } else if (row.retired_at === null) {
    for (const sql of how.retire) await run.em.query(sql, [row.pk]);
    run.report.retained.push(`${how.kind}/${row.name}`);
  }
}

/** Applies the principals; returns every principal's pk by name (those the state no longer names too, unless pruned). */
async function applyPrincipals(run: ApplyRun, principals: readonly DesiredPrincipal[]): Promise<Map<string, number>> {
  const existing: PrincipalRow[] = await run.em.query(
    `SELECT pk, name, display_name, password_hash, disabled, managed_by, rate_limit_per_second, rate_limit_burst FROM principals`,
  );
  const byName = new Map(existing.map((r) => [r.name, r]));
  const pks = new Map<string, number>();
  const groups = await groupsByPrincipal(run);
  for (const p of principals) {
    const pk = await upsertPrincipal(run, p, byName.get(p.name));
    pks.set(p.name, pk);
    await replaceGroups(run, p, pk, groups.get(pk) ?? []);
    if (await applyApiKeys(run.em, pk, p.apiKeys ?? [])) markChanged(run, `Principal/${p.name}`);
  }
  for (const r of existing) {
    if (pks.has(r.name)) continue;
    if (prunable(run, r)) {
      await run.em.query(`DELETE FROM principals WHERE pk = $1`, [r.pk]);
      run.report.removed.push(`Principal/${r.name}`);
    } else pks.set(r.name, r.pk);
  }
  return pks;
}

/** A principal the state no longer names goes, unless the admin CLI manages it or the apply keeps it. */
function prunable(run: ApplyRun, r: PrincipalRow): boolean {
  return run.prune && r.managed_by === 'config' && run.keep.principals?.has(r.name) !== true;
}

/** The password hash to store: the producer's answer given the stored hash (which it may keep), or null. */
async function passwordHashFor(p: DesiredPrincipal, cur: PrincipalRow | undefined): Promise<string | null> {
  return p.passwordHash === undefined ? null : ((await p.passwordHash(cur?.password_hash ?? undefined)) ?? null);
}

/** The columns a desired principal sets, in the order of PRINCIPAL_COLUMNS. */
type PrincipalValues = [string | null, string | null, boolean, number | null, number | null];
const PRINCIPAL_COLUMNS = ['display_name', 'password_hash', 'disabled', 'rate_limit_per_second', 'rate_limit_burst'] as const;

function principalValues(p: DesiredPrincipal, hash: string | null): PrincipalValues {
  return [p.displayName ?? null, hash, p.disabled, p.rateLimit?.perSecond ?? null, p.rateLimit?.burst ?? null];
}

function principalUnchanged(cur: PrincipalRow, values: PrincipalValues): boolean {
  return cur.managed_by === 'config' && PRINCIPAL_COLUMNS.every((c, i) => cur[c] === values[i]);
}

async function upsertPrincipal(run: ApplyRun, p: DesiredPrincipal, cur: PrincipalRow | undefined): Promise<number> {
  const values = principalValues(p, await passwordHashFor(p, cur));
  if (cur === undefined) {
    const rows: { pk: number }[] = await run.em.query(
      `INSERT INTO principals (name, ${PRINCIPAL_COLUMNS.join(', ')}) VALUES ($1, $2, $3, $4, $5, $6) RETURNING pk`,
      [p.name, ...values],
    );
    run.report.created.push(`Principal/${p.name}`);
    return rows[0]?.pk ?? 0;
  }
  if (!principalUnchanged(cur, values)) {
    // A principal the configuration names is managed by it from now on.
    const set = PRINCIPAL_COLUMNS.map((c, i) => `${c} = $${i + 2}`).join(', ');
    await run.em.query(`UPDATE principals SET ${set}, managed_by = 'config', updated_at = now() WHERE pk = $1`, [cur.pk, ...values]);
    run.report.updated.push(`Principal/${p.name}`);
  }
  return cur.pk;
}

async function groupsByPrincipal(run: ApplyRun): Promise<Map<number, string[]>> {
  const rows: { principal_pk: number; group_name: string }[] = await run.em.query(`SELECT principal_pk, group_name FROM principal_groups ORDER BY group_name`);
  const out = new Map<number, string[]>();
  for (const r of rows) out.set(r.principal_pk, [...(out.get(r.principal_pk) ?? []), r.group_name]);
  return out;
}

/** Makes the principal's group memberships the desired ones; a change counts as an update. */
async function replaceGroups(run: ApplyRun, p: DesiredPrincipal, pk: number, current: readonly string[]): Promise<void> {
  const desired = [...(p.groups ?? [])].sort();
  if (desired.join('\n') === current.join('\n')) return;
  await run.em.query(`DELETE FROM principal_groups WHERE principal_pk = $1`, [pk]);
  for (const g of desired) await run.em.query(`INSERT INTO principal_groups (principal_pk, group_name) VALUES ($1, $2)`, [pk, g]);
  markChanged(run, `Principal/${p.name}`);
}

/** Reports a resource as updated (its grants changed) unless this apply already reports it created or updated. */
function markChanged(run: ApplyRun, ref: string): void {
  if (!run.report.created.includes(ref) && !run.report.updated.includes(ref)) run.report.updated.push(ref);
}

/** A grant set as comparable text, whatever order it was listed or stored in. */
const grantSet = (rows: readonly (readonly unknown[])[]): string => JSON.stringify(rows.map((r) => JSON.stringify(r)).sort());

/** Replaces an API root's roles (principals' in api_root_grants, groups' in api_root_group_grants) if they differ; true if they did. */
async function replaceRootGrants(run: ApplyRun, rootPk: number, grants: DesiredApiRoot['grants'], principalPk: ReadonlyMap<string, number>): Promise<boolean> {
  const stored: { p: number | null; g: string | null; role: string }[] = await run.em.query(
    `SELECT principal_pk AS p, NULL AS g, role FROM api_root_grants WHERE api_root_pk = $1
     UNION ALL SELECT NULL, group_name, role FROM api_root_group_grants WHERE api_root_pk = $1`,
    [rootPk],
  );
  const want = grants.map((g) => (g.group !== undefined ? [null, g.group, g.role] : [principalPk.get(g.principal ?? '') ?? null, null, g.role]));
  if (grantSet(stored.map((r) => [r.p, r.g, r.role])) === grantSet(want)) return false;
  await run.em.query(`DELETE FROM api_root_grants WHERE api_root_pk = $1`, [rootPk]);
  await run.em.query(`DELETE FROM api_root_group_grants WHERE api_root_pk = $1`, [rootPk]);
  for (const g of grants) {
    if (g.group !== undefined)
      await run.em.query(`INSERT INTO api_root_group_grants (api_root_pk, group_name, role) VALUES ($1, $2, $3)`, [rootPk, g.group, g.role]);
    else
      await run.em.query(`INSERT INTO api_root_grants (api_root_pk, principal_pk, role) VALUES ($1, $2, $3)`, [
        rootPk,
        principalPk.get(g.principal ?? ''),
        g.role,
      ]);
  }
  return true;
}

/** Replaces a collection's overrides (NULL = inherit), principals' and groups', if they differ; true if they did. */
async function replaceCollectionGrants(
  run: ApplyRun,
  collPk: number,
  grants: DesiredCollection['grants'],
  principalPk: ReadonlyMap<string, number>,
): Promise<boolean> {
  const stored: { p: number | null; g: string | null; r: boolean | null; w: boolean | null }[] = await run.em.query(
    `SELECT principal_pk AS p, NULL AS g, can_read AS r, can_write AS w FROM collection_grants WHERE collection_pk = $1
     UNION ALL SELECT NULL, group_name, can_read, can_write FROM collection_group_grants WHERE collection_pk = $1`,
    [collPk],
  );
  const want = grants.map((g) => [
    g.group !== undefined ? null : (principalPk.get(g.principal ?? '') ?? null),
    g.group ?? null,
    g.read ?? null,
    g.write ?? null,
  ]);
  if (grantSet(stored.map((x) => [x.p, x.g, x.r, x.w])) === grantSet(want)) return false;
  await run.em.query(`DELETE FROM collection_grants WHERE collection_pk = $1`, [collPk]);
  await run.em.query(`DELETE FROM collection_group_grants WHERE collection_pk = $1`, [collPk]);
  for (const g of grants) {
    const [table, holder, holderValue] =
      g.group !== undefined ? ['collection_group_grants', 'group_name', g.group] : ['collection_grants', 'principal_pk', principalPk.get(g.principal ?? '')];
    await run.em.query(`INSERT INTO ${table} (collection_pk, ${holder}, can_read, can_write) VALUES ($1, $2, $3, $4)`, [
      collPk,
      holderValue,
      g.read ?? null,
      g.write ?? null,
    ]);
  }
  return true;
}

/** Applies the API roots and their grants; returns every root's pk by name (those the state no longer names too, unless pruned). */
async function applyRoots(run: ApplyRun, apiRoots: readonly DesiredApiRoot[], principalPk: ReadonlyMap<string, number>): Promise<Map<string, number>> {
  const existing: ApiRootRow[] = await run.em.query(
    `SELECT pk, name, path, title, description, max_content_length, deletion_policy, retired_at FROM api_roots`,
  );
  const byName = new Map(existing.map((r) => [r.name, r]));
  const pks = new Map<string, number>();
  for (const r of apiRoots) {
    const pk = await upsertRoot(run, r, byName.get(r.name));
    pks.set(r.name, pk);
    if (await replaceRootGrants(run, pk, r.grants, principalPk)) markChanged(run, `ApiRoot/${r.name}`);
  }
  for (const r of existing) {
    if (pks.has(r.name)) continue;
    if (run.prune && run.keep.apiRoots?.has(r.name) !== true) await prune(run, PRUNE_API_ROOT, r);
    else pks.set(r.name, r.pk);
  }
  return pks;
}

async function upsertRoot(run: ApplyRun, r: DesiredApiRoot, cur: ApiRootRow | undefined): Promise<number> {
  if (cur === undefined) {
    const rows: { pk: number }[] = await run.em.query(
      `INSERT INTO api_roots (name, path, title, description, max_content_length, deletion_policy) VALUES ($1, $2, $3, $4, $5, $6) RETURNING pk`,
      [r.name, r.path, r.title, r.description ?? null, r.maxContentLength, r.deletionPolicy],
    );
    run.report.created.push(`ApiRoot/${r.name}`);
    return rows[0]?.pk ?? 0;
  }
  if (rootChanged(cur, r)) {
    await run.em.query(
      `UPDATE api_roots SET path = $2, title = $3, description = $4, max_content_length = $5, deletion_policy = $6, retired_at = NULL, updated_at = now() WHERE pk = $1`,
      [cur.pk, r.path, r.title, r.description ?? null, r.maxContentLength, r.deletionPolicy],
    );
    run.report.updated.push(`ApiRoot/${r.name}`);
  }
  return cur.pk;
}

/** True if the stored root differs from the desired one, or is retired. */
function rootChanged(cur: ApiRootRow, r: DesiredApiRoot): boolean {
  return (
    cur.path !== r.path ||
    cur.title !== r.title ||
    cur.description !== (r.description ?? null) ||
    cur.max_content_length !== r.maxContentLength ||
    cur.deletion_policy !== r.deletionPolicy ||
    cur.retired_at !== null
  );
}

/** Primary keys the collections step resolves names against. */
interface CollectionRefs {
  readonly rootPk: ReadonlyMap<string, number>;
  readonly principalPk: ReadonlyMap<string, number>;
}

const collectionKey = (root: number, name: string): string => `${root}/${name}`;

/** Applies the collections and their grants. */
async function applyCollections(run: ApplyRun, collections: readonly DesiredCollection[], refs: CollectionRefs): Promise<void> {
  const existing: CollectionRow[] = await run.em.query(
    `SELECT pk, id, api_root_pk, name, alias, title, description, media_types, deletion_policy, retired_at, max_objects FROM collections`,
  );
  const byKey = new Map(existing.map((c) => [collectionKey(c.api_root_pk, c.name), c]));
  await releaseChangedAliases(run.em, collections, (c) => {
    const root = refs.rootPk.get(c.apiRoot);
    return root === undefined ? undefined : byKey.get(collectionKey(root, c.name));
  });
  const seen = new Set<number>();
  for (const c of collections) {
    const root = refs.rootPk.get(c.apiRoot);
    if (root === undefined) throw new Error(`Collection ${c.name}: ApiRoot ${c.apiRoot} does not exist`);
    const pk = await upsertCollection(run, c, root, byKey.get(collectionKey(root, c.name)));
    seen.add(pk);
    if (await replaceCollectionGrants(run, pk, c.grants, refs.principalPk)) markChanged(run, `Collection/${c.apiRoot}/${c.name}`);
  }
  if (!run.prune) return;
  const rootName = new Map([...refs.rootPk].map(([name, pk]) => [pk, name]));
  const kept = (c: CollectionRow): boolean => run.keep.collections?.has(`${rootName.get(c.api_root_pk) ?? ''}/${c.name}`) === true;
  for (const c of existing) if (!seen.has(c.pk) && !kept(c)) await prune(run, PRUNE_COLLECTION, c);
}

/** Frees aliases that change first, so that swapping aliases between collections in one apply works. */
async function releaseChangedAliases(
  em: EntityManager,
  collections: readonly DesiredCollection[],
  stored: (c: DesiredCollection) => CollectionRow | undefined,
): Promise<void> {
  for (const c of collections) {
    const cur = stored(c);
    if (cur !== undefined && cur.alias !== null && cur.alias !== (c.alias ?? null))
      await em.query(`UPDATE collections SET alias = NULL WHERE pk = $1`, [cur.pk]);
  }
}

/** The columns a desired collection sets (besides its id), in the order of COLLECTION_COLUMNS. */
const COLLECTION_COLUMNS = ['alias', 'title', 'description', 'media_types', 'deletion_policy', 'max_objects'] as const;
type CollectionValues = [string | null, string, string | null, readonly string[], string, number | null];

function collectionValues(c: DesiredCollection): CollectionValues {
  return [c.alias ?? null, c.title, c.description ?? null, c.mediaTypes, c.deletionPolicy, c.maxObjects ?? null];
}

const sameValue = (a: unknown, b: unknown): boolean => (Array.isArray(a) && Array.isArray(b) ? a.join('\n') === b.join('\n') : a === b);

async function upsertCollection(run: ApplyRun, c: DesiredCollection, root: number, cur: CollectionRow | undefined): Promise<number> {
  const values = collectionValues(c);
  if (cur === undefined) {
    const rows: { pk: number }[] = await run.em.query(
      `INSERT INTO collections (id, api_root_pk, name, ${COLLECTION_COLUMNS.join(', ')}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING pk`,
      [c.id ?? randomUUID(), root, c.name, ...values],
    );
    run.report.created.push(`Collection/${c.apiRoot}/${c.name}`);
    return rows[0]?.pk ?? 0;
  }
  const id = c.id ?? cur.id;
  const unchanged = cur.id === id && cur.retired_at === null && COLLECTION_COLUMNS.every((col, i) => sameValue(cur[col], values[i]));
  if (!unchanged) {
    const set = COLLECTION_COLUMNS.map((col, i) => `${col} = $${i + 3}`).join(', ');
    await run.em.query(`UPDATE collections SET id = $2, ${set}, retired_at = NULL, updated_at = now() WHERE pk = $1`, [cur.pk, id, ...values]);
    run.report.updated.push(`Collection/${c.apiRoot}/${c.name}`);
  }
  return cur.pk;
}
