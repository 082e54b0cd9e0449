import type { ApplyReport } from '@taxiway/domain';
import type { SqlCatalogStore } from '@taxiway/store';
import { desiredFrom, type SecretLookup } from './desired';
import type { Resource } from './resources';
import type { Verdict } from './status';

/** What one apply of the whole desired state produced. */
export interface SyncResult {
  readonly ok: boolean;
  readonly error?: string;
  readonly report?: ApplyReport;
  /** Failing resources by key; every other resource was applied. */
  readonly failures: ReadonlyMap<string, Verdict>;
  /** Collection ids by `apiRoot/name`, as stored (for status.id). */
  readonly collectionIds: ReadonlyMap<string, string>;
  readonly durationMs: number;
}

/** What the Reconciler needs of the applier: one apply of the whole desired state (Applier; a fake in testing/). */
export interface ApplyPort {
  sync(): Promise<SyncResult>;
}

/** What the applier needs to know of the cluster at the moment it applies. */
export interface ClusterView {
  resources(): readonly Resource[];
  readonly secrets: SecretLookup;
}

/**
 * Applies the desired state of every resource in the cache to the database in one transaction
 * (libs/control → libs/store, the same path as the config file). Calls are coalesced: a caller
 * waits for the next apply that starts after it called, so its change is included, and any number
 * of callers waiting at once share one apply.
 */
export class Applier implements ApplyPort {
  private current: Promise<SyncResult> | undefined;
  private next: Promise<SyncResult> | undefined;

  constructor(
    private readonly store: SqlCatalogStore,
    private readonly view: ClusterView,
    private readonly onResult: (r: SyncResult) => void = () => undefined,
  ) {}

  sync(): Promise<SyncResult> {
    if (this.current === undefined) {
      this.current = this.run().finally(() => {
        this.current = undefined;
      });
      return this.current;
    }
    this.next ??= this.current.then(() => {
      this.next = undefined;
      return this.sync();
    });
    return this.next;
  }

  private async run(): Promise<SyncResult> {
    const t0 = performance.now();
    let result: SyncResult;
    try {
      const outcome = desiredFrom(this.view.resources(), this.view.secrets, await this.store.principalOwners());
      const report = await this.store.applyDesiredState(outcome.state, { prune: true, keep: outcome.keep });
      result = { ok: true, report, failures: outcome.failures, collectionIds: await this.store.collectionIds(), durationMs: performance.now() - t0 };
    } catch (e: unknown) {
      result = {
        ok: false,
        error: e instanceof Error ? e.message : String(e),
        failures: new Map(),
        collectionIds: new Map(),
        durationMs: performance.now() - t0,
      };
    }
    this.onResult(result);
    return result;
  }
}
