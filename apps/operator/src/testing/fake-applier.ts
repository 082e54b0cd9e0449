import type { ApplyPort, SyncResult } from '../applier';
import { isDeleting, resourceKey, type Resource } from '../resources';
import type { Verdict } from '../status';

/**
 * An Applier over an in-memory "database" for unit specs of the reconcile flow. Like the real one,
 * every sync applies the whole desired state of the cluster view it is given: resources that are
 * deleting are left out (pruned), resources with a verdict set by {@link reject} fail and are kept
 * as they are, the rest are applied. {@link failNext} makes the next syncs fail as a transaction
 * would when the database is unreachable (`ok: false`, nothing changes).
 */
export class FakeApplier implements ApplyPort {
  /** The keys (`kind/ns/name`) the database holds. */
  applied: ReadonlySet<string> = new Set();
  /** How many syncs ran. */
  syncs = 0;

  private readonly rejected = new Map<string, Verdict>();
  private readonly outages: string[] = [];

  constructor(private readonly resources: () => readonly Resource[]) {}

  /** From now on the resource at `key` fails with `verdict` (its spec is invalid, its ApiRoot missing, …). */
  reject(key: string, verdict: Verdict): void {
    this.rejected.set(key, verdict);
  }

  /** The resource at `key` passes its checks again. */
  accept(key: string): void {
    this.rejected.delete(key);
  }

  /** The next `times` syncs fail with `error` and change nothing. */
  failNext(error = 'connect ECONNREFUSED 127.0.0.1:5432', times = 1): void {
    for (let i = 0; i < times; i++) this.outages.push(error);
  }

  sync(): Promise<SyncResult> {
    this.syncs++;
    const error = this.outages.shift();
    if (error !== undefined) return Promise.resolve({ ok: false, error, failures: new Map(), collectionIds: new Map(), durationMs: 0 });
    const live = this.resources().filter((r) => !isDeleting(r));
    const failures = new Map<string, Verdict>();
    for (const r of live) {
      const v = this.rejected.get(resourceKey(r));
      if (v !== undefined) failures.set(resourceKey(r), v);
    }
    const kept = live.filter((r) => failures.has(resourceKey(r)) && this.applied.has(resourceKey(r)));
    const applied = live.filter((r) => !failures.has(resourceKey(r)));
    this.applied = new Set([...kept, ...applied].map(resourceKey));
    const collectionIds = new Map(
      applied
        .filter((r) => r.kind === 'Collection')
        .map((c) => [`${String(c.spec['apiRoot'])}/${c.metadata.name}`, typeof c.spec['id'] === 'string' ? c.spec['id'] : `id-of-${c.metadata.name}`]),
    );
    return Promise.resolve({ ok: true, failures, collectionIds, durationMs: 0 });
  }
}
