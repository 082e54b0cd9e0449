import { Client } from 'pg';
import type { FastifyBaseLogger } from 'fastify';
import { AccessIndex } from '@taxiway/auth';
import type { ApiRootInfo, CatalogSnapshot, CatalogStore, CollectionInfo } from '@taxiway/domain';
import { CATALOG_CHANNEL } from '@taxiway/store';

const EMPTY: CatalogSnapshot = {
  roots: [],
  collections: [],
  principals: [],
  rootGrants: [],
  collectionGrants: [],
  groupRootGrants: [],
  groupCollectionGrants: [],
  apiKeys: [],
};

/**
 * In-memory routing tables and the access index (libs/auth), rebuilt from the database on change. A
 * change committed by any replica or by the operator is announced with NOTIFY and picked up here
 * within a second; a periodic reload is the safety net. Access decisions are the index's alone.
 */
export class CatalogService {
  private index = new AccessIndex(EMPTY);
  private rootsByPath = new Map<string, ApiRootInfo>();
  private rootsByPk = new Map<number, ApiRootInfo>();
  private collectionsByPk = new Map<number, CollectionInfo>();
  private collectionsByRoot = new Map<number, CollectionInfo[]>();
  private listenClient: Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  loaded = false;

  constructor(
    private readonly store: CatalogStore,
    private readonly log: FastifyBaseLogger,
  ) {}

  async reload(): Promise<void> {
    this.install(await this.store.loadCatalog());
  }

  install(s: CatalogSnapshot): void {
    this.index = new AccessIndex(s);
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
    this.loaded = true;
  }

  /** Who exists, what they log in with, and every grant: the access index of the current catalogue. */
  get access(): AccessIndex {
    return this.index;
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

  rootByPk(pk: number): ApiRootInfo | undefined {
    return this.rootsByPk.get(pk);
  }

  collectionByPk(pk: number): CollectionInfo | undefined {
    return this.collectionsByPk.get(pk);
  }

  rootByPath(path: string): ApiRootInfo | undefined {
    return this.rootsByPath.get(path);
  }

  /** A collection of a root by name or alias (TAXII 1.x names collections). */
  collectionByName(root: ApiRootInfo, nameOrAlias: string): CollectionInfo | undefined {
    return (this.collectionsByRoot.get(root.pk) ?? []).find((c) => c.name === nameOrAlias || c.alias === nameOrAlias);
  }

  /** A collection by UUID or alias within a root. */
  findCollection(root: ApiRootInfo, idOrAlias: string): CollectionInfo | undefined {
    const lower = idOrAlias.toLowerCase();
    return (this.collectionsByRoot.get(root.pk) ?? []).find((c) => c.id === lower || c.alias === idOrAlias);
  }
}
