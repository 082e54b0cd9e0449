import type { FastifyBaseLogger } from 'fastify';
import { AccessIndex } from '@taxiway/auth';
import { EMPTY_CATALOG, type ApiRootInfo, type CatalogSnapshot, type CatalogStore, type CollectionInfo } from '@taxiway/domain';
import { CatalogListener } from '@taxiway/store';

/**
 * In-memory routing tables and the access index (libs/auth), rebuilt from the database on change. A
 * change committed by any replica or by the operator is announced with NOTIFY and picked up here
 * within a second; a periodic reload is the safety net. Access decisions are the index's alone.
 */
export class CatalogService {
  private index = new AccessIndex(EMPTY_CATALOG);
  private rootsByPath = new Map<string, ApiRootInfo>();
  private rootsByPk = new Map<number, ApiRootInfo>();
  private collectionsByPk = new Map<number, CollectionInfo>();
  private listener: CatalogListener | undefined;
  /** Reloads started, and the start order of the one installed. */
  private started = 0;
  private installed = 0;
  private timer: NodeJS.Timeout | undefined;
  loaded = false;

  constructor(
    private readonly store: CatalogStore,
    private readonly log: FastifyBaseLogger,
  ) {}

  /**
   * Loads the catalogue and installs it, unless a reload that started later has already installed a
   * newer one: reloads overlap (NOTIFY, the periodic timer, an explicit apply), and an earlier, slower
   * one must not put back the state before a change.
   */
  async reload(): Promise<void> {
    const ticket = ++this.started;
    const snapshot = await this.store.loadCatalog();
    if (ticket < this.installed) return;
    this.installed = ticket;
    this.install(snapshot);
  }

  install(s: CatalogSnapshot): void {
    this.index = new AccessIndex(s);
    this.rootsByPath = new Map(s.roots.map((r) => [r.path, r]));
    this.rootsByPk = new Map(s.roots.map((r) => [r.pk, r]));
    this.collectionsByPk = new Map(s.collections.map((c) => [c.pk, c]));
    this.loaded = true;
  }

  /** Who exists, what they log in with, and every grant: the access index of the current catalogue. */
  get access(): AccessIndex {
    return this.index;
  }

  /**
   * Subscribes to change notifications (PostgreSQL server only; the listener reconnects with backoff
   * after a database restart and reloads on reconnect) and starts the periodic reload.
   */
  async watch(databaseUrl: string | undefined, periodMs: number, connectTimeoutMs: number): Promise<void> {
    const reload = (why: string): void => {
      this.reload().catch((err: unknown) => this.log.error({ err, why }, 'catalog reload failed'));
    };
    if (databaseUrl !== undefined) {
      this.listener = new CatalogListener(databaseUrl, {
        onChange: () => reload('notify'),
        onReconnect: () => {
          this.log.info('catalog listener reconnected; reloading');
          reload('reconnect');
        },
        onError: (err, retryInMs) => this.log.warn({ err, retry_in_ms: retryInMs }, 'catalog listener lost its connection'),
        connectTimeoutMs,
      });
      await this.listener.start();
    }
    this.timer = setInterval(() => reload('periodic'), periodMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.listener?.stop();
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
    return this.index.collectionsOf(root).find((c) => c.name === nameOrAlias || c.alias === nameOrAlias);
  }

  /** A collection by UUID or alias within a root. */
  findCollection(root: ApiRootInfo, idOrAlias: string): CollectionInfo | undefined {
    const lower = idOrAlias.toLowerCase();
    return this.index.collectionsOf(root).find((c) => c.id === lower || c.alias === idOrAlias);
  }
}
