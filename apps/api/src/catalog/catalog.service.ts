import { Client } from 'pg';
import type { FastifyBaseLogger } from 'fastify';
import {
  collectionAccess,
  strongestRole,
  type Access,
  type ApiKeyInfo,
  type ApiRootInfo,
  type CatalogSnapshot,
  type CatalogStore,
  type CollectionGrant,
  type GroupCollectionGrant,
  type CollectionInfo,
  type PrincipalInfo,
  type Role,
} from '@taxiway/domain';
import { CATALOG_CHANNEL } from '@taxiway/store';

/**
 * In-memory routing and grant tables, rebuilt from the database on change. A change committed by any
 * replica or by the operator is announced with NOTIFY and picked up here within a second; a periodic
 * reload is the safety net.
 */
export class CatalogService {
  private snapshot: CatalogSnapshot = {
    roots: [],
    collections: [],
    principals: [],
    rootGrants: [],
    collectionGrants: [],
    groupRootGrants: [],
    groupCollectionGrants: [],
    apiKeys: [],
  };
  private rootsByPath = new Map<string, ApiRootInfo>();
  private rootsByPk = new Map<number, ApiRootInfo>();
  private collectionsByPk = new Map<number, CollectionInfo>();
  private collectionsByRoot = new Map<number, CollectionInfo[]>();
  private principalsByName = new Map<string, PrincipalInfo>();
  private principalsByPk = new Map<number, PrincipalInfo>();
  private apiKeys = new Map<string, ApiKeyInfo>();
  private roles = new Map<string, Role>();
  private grants = new Map<string, CollectionGrant>();
  private groupRoles = new Map<string, Role>();
  private groupGrants = new Map<string, GroupCollectionGrant>();
  private listeners: (() => void)[] = [];
  private listenClient: Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  loaded = false;

  constructor(
    private readonly store: CatalogStore,
    private readonly log: FastifyBaseLogger,
  ) {}

  onChange(fn: () => void): void {
    this.listeners.push(fn);
  }

  async reload(): Promise<void> {
    this.install(await this.store.loadCatalog());
  }

  install(s: CatalogSnapshot): void {
    this.snapshot = s;
    this.rootsByPath = new Map(s.roots.map((r) => [r.path, r]));
    this.rootsByPk = new Map(s.roots.map((r) => [r.pk, r]));
    this.collectionsByPk = new Map(s.collections.map((c) => [c.pk, c]));
    const byRoot = new Map<number, CollectionInfo[]>();
    for (const c of s.collections) {
      const list = byRoot.get(c.apiRootPk);
      if (list) list.push(c);
      else byRoot.set(c.apiRootPk, [c]);
    }
    this.collectionsByRoot = byRoot;
    this.principalsByName = new Map(s.principals.map((p) => [p.name, p]));
    this.principalsByPk = new Map(s.principals.map((p) => [p.pk, p]));
    this.apiKeys = new Map(s.apiKeys.map((k) => [k.id, k]));
    this.roles = new Map(s.rootGrants.map((g) => [`${g.apiRootPk}:${g.principalPk}`, g.role]));
    this.grants = new Map(s.collectionGrants.map((g) => [`${g.collectionPk}:${g.principalPk}`, g]));
    this.groupRoles = new Map(s.groupRootGrants.map((g) => [`${g.apiRootPk}:${g.group}`, g.role]));
    this.groupGrants = new Map(s.groupCollectionGrants.map((g) => [`${g.collectionPk}:${g.group}`, g]));
    this.loaded = true;
    for (const fn of this.listeners) fn();
  }

  /** Subscribes to change notifications (PostgreSQL server only) and starts the periodic reload. */
  async watch(databaseUrl: string | undefined, periodMs: number): Promise<void> {
    if (databaseUrl !== undefined) {
      const client = new Client({ connectionString: databaseUrl });
      client.on('error', (err) => this.log.warn({ err }, 'catalog listener failed; relying on periodic reload'));
      await client.connect();
      client.on('notification', () => {
        this.reload().catch((err: unknown) => this.log.error({ err }, 'catalog reload failed'));
      });
      await client.query(`LISTEN ${CATALOG_CHANNEL}`);
      this.listenClient = client;
    }
    this.timer = setInterval(() => {
      this.reload().catch((err: unknown) => this.log.error({ err }, 'catalog reload failed'));
    }, periodMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.listenClient?.end().catch(() => undefined);
  }

  byPk(pk: number): PrincipalInfo | undefined {
    return this.principalsByPk.get(pk);
  }

  apiKey(id: string): ApiKeyInfo | undefined {
    return this.apiKeys.get(id);
  }

  byName(name: string): PrincipalInfo | undefined {
    return this.principalsByName.get(name);
  }

  rootByPk(pk: number): ApiRootInfo | undefined {
    return this.rootsByPk.get(pk);
  }

  collectionByPk(pk: number): CollectionInfo | undefined {
    return this.collectionsByPk.get(pk);
  }

  rootByPath(path: string): ApiRootInfo | undefined {
    return this.rootsByPath.get(path);
  }

  private groupsOf(principalPk: number): readonly string[] {
    return this.principalsByPk.get(principalPk)?.groups ?? [];
  }

  /** Roles on the root: the principal's own and its groups'. */
  private rolesOn(rootPk: number, principalPk: number): Role[] {
    const roles: Role[] = [];
    const own = this.roles.get(`${rootPk}:${principalPk}`);
    if (own !== undefined) roles.push(own);
    for (const g of this.groupsOf(principalPk)) {
      const r = this.groupRoles.get(`${rootPk}:${g}`);
      if (r !== undefined) roles.push(r);
    }
    return roles;
  }

  /** The strongest role the principal holds on the root, own or through a group. */
  roleOn(rootPk: number, principalPk: number): Role | undefined {
    return strongestRole(this.rolesOn(rootPk, principalPk));
  }

  access(c: CollectionInfo, principalPk: number): Access {
    const groups: GroupCollectionGrant[] = [];
    for (const g of this.groupsOf(principalPk)) {
      const grant = this.groupGrants.get(`${c.pk}:${g}`);
      if (grant !== undefined) groups.push(grant);
    }
    return collectionAccess({ roles: this.rolesOn(c.apiRootPk, principalPk), own: this.grants.get(`${c.pk}:${principalPk}`), groups });
  }

  /** Collections of a root the principal can see (read or write), in a stable order. */
  visibleCollections(root: ApiRootInfo, principalPk: number): { collection: CollectionInfo; access: Access }[] {
    const out: { collection: CollectionInfo; access: Access }[] = [];
    for (const c of this.collectionsByRoot.get(root.pk) ?? []) {
      const access = this.access(c, principalPk);
      if (access.read || access.write) out.push({ collection: c, access });
    }
    return out;
  }

  /** A collection of a root by name or alias (TAXII 1.x names collections), if the principal may read or write it. */
  visibleCollection(root: ApiRootInfo, nameOrAlias: string, principalPk: number): { collection: CollectionInfo; access: Access } | undefined {
    const collection = (this.collectionsByRoot.get(root.pk) ?? []).find((c) => c.name === nameOrAlias || c.alias === nameOrAlias);
    if (collection === undefined) return undefined;
    const access = this.access(collection, principalPk);
    return access.read || access.write ? { collection, access } : undefined;
  }

  rootVisible(root: ApiRootInfo, principalPk: number): boolean {
    return this.roleOn(root.pk, principalPk) !== undefined || this.visibleCollections(root, principalPk).length > 0;
  }

  visibleRoots(principalPk: number): ApiRootInfo[] {
    return this.snapshot.roots.filter((r) => this.rootVisible(r, principalPk));
  }

  /** A collection by UUID or alias within a root. */
  findCollection(root: ApiRootInfo, idOrAlias: string): CollectionInfo | undefined {
    const lower = idOrAlias.toLowerCase();
    return (this.collectionsByRoot.get(root.pk) ?? []).find((c) => c.id === lower || c.alias === idOrAlias);
  }
}
