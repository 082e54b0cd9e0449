import type { Kube } from './kube';
import { statusCode } from './kube';

export interface WatchedObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
}

export type WatchEvent = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchSpec<T extends WatchedObject> {
  /** Collection path: /apis/…/<plural> or /api/v1/namespaces/<ns>/secrets. */
  readonly path: string;
  readonly list: () => Promise<{ items: T[]; resourceVersion: string }>;
  readonly onEvent: (type: WatchEvent, obj: T) => void;
  /** Called after every (re-)list with the complete current set. */
  readonly onSync: (items: readonly T[]) => void;
  readonly onError: (err: unknown) => void;
}

/** What the operator needs of any watch, whatever it watches. */
export interface Watcher {
  readonly hasSynced: boolean;
  start(): Promise<void>;
  stop(): void;
}

/**
 * List, then watch from the list's resourceVersion; when the watch ends (server timeout, network
 * error, apiserver restart) watch again from the last version seen, and re-list when that version
 * is too old (410 Gone) or the watch keeps failing. Backoff 0.5 s … 30 s between failures.
 */
export class ResourceWatch<T extends WatchedObject> implements Watcher {
  private resourceVersion: string | undefined;
  private abort: AbortController | undefined;
  private stopped = false;
  private failures = 0;
  private synced = false;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly kube: Kube,
    private readonly spec: WatchSpec<T>,
  ) {}

  get hasSynced(): boolean {
    return this.synced;
  }

  /** Lists (retrying with backoff until it succeeds or the watch is stopped), then watches. */
  async start(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        await this.relist();
        this.watch();
        return;
      } catch (err: unknown) {
        this.spec.onError(err);
        await new Promise((r) => setTimeout(r, Math.min(30_000, 250 * 2 ** Math.min(7, attempt))));
      }
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.abort?.abort();
  }

  private async relist(): Promise<void> {
    const { items, resourceVersion } = await this.spec.list();
    this.resourceVersion = resourceVersion;
    this.synced = true;
    this.spec.onSync(items);
  }

  private watch(): void {
    if (this.stopped) return;
    const params = { allowWatchBookmarks: true, ...(this.resourceVersion !== undefined && { resourceVersion: this.resourceVersion }) };
    this.kube.watcher
      .watch(
        this.spec.path,
        params,
        (type: string, obj: T) => this.event(type, obj),
        (err: unknown) => this.ended(err),
      )
      .then(
        (abort) => {
          this.abort = abort;
          if (this.stopped) abort.abort();
        },
        (err: unknown) => this.ended(err),
      );
  }

  private event(type: string, obj: T): void {
    const rv = obj.metadata?.resourceVersion;
    if (type === 'ERROR') {
      // A 410 Gone inside the stream: the version is too old; re-list.
      this.resourceVersion = undefined;
      return;
    }
    if (rv !== undefined) this.resourceVersion = rv;
    if (type === 'BOOKMARK') return;
    this.failures = 0;
    if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') this.spec.onEvent(type, obj);
  }

  private ended(err: unknown): void {
    if (this.stopped) return;
    const gone = statusCode(err) === 410;
    if (err !== null && err !== undefined && !gone) {
      this.failures++;
      this.spec.onError(err);
    }
    const delay = err === null || err === undefined ? 0 : Math.min(30_000, 500 * 2 ** Math.min(6, this.failures));
    this.retryTimer = setTimeout(() => void this.restart(gone || this.resourceVersion === undefined || this.failures > 3), delay);
    this.retryTimer.unref();
  }

  private async restart(relist: boolean): Promise<void> {
    if (this.stopped) return;
    try {
      if (relist) await this.relist();
      this.watch();
    } catch (err: unknown) {
      this.ended(err);
    }
  }
}
