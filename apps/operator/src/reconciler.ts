import type { ApplyPort, SyncResult } from './applier';
import type { IngressPort } from './ingress';
import { describeError, type KubeClient } from './kube';
import type { OperatorMetrics } from '@taxiway/metrics';
import { Backoff, type KeyedQueue } from './queue';
import { FINALIZER, hasFinalizer, isDeleting, parseKey, type Condition, type Resource } from './resources';
import { conditionsFor, ok, Reason, sameConditions, transient, type Verdict } from './status';

export interface ReconcilerDeps {
  readonly kube: KubeClient;
  readonly applier: ApplyPort;
  readonly metrics: OperatorMetrics;
  /** The cached object of a key (what the watches last saw). */
  readonly cached: (key: string) => Resource | undefined;
  /** Puts what the API server answered to our own patch in the cache, ahead of the watch event. */
  readonly remember: (r: Resource) => void;
  /** The API root's absolute URL, for ApiRoot status.url. */
  readonly rootUrl: (path: string) => string;
  readonly resyncMs: number;
  /** Owns the Ingress of an ApiRoot's hostnames. */
  readonly ingress: IngressPort;
  readonly log: (msg: string, err?: unknown) => void;
}

type Outcome = 'success' | 'invalid' | 'error' | 'deleted' | 'gone';

/** Where the Reconciler puts a key back (the KeyedQueue). */
export type Requeue = Pick<KeyedQueue, 'addAfter'>;

/**
 * The reconcile flow of STYLE §3.2, for every kind: get → deleting? (apply without it, so its data
 * goes or stays per deletionPolicy, then drop the finalizer) → ensure finalizer → cross-object
 * checks and apply (one transaction for the whole desired state, see Applier) → status conditions
 * → requeue: resync on success, exponential backoff on transient errors, none for an invalid spec.
 */
export class Reconciler {
  private readonly backoff = new Backoff();
  queue: Requeue | undefined;

  constructor(private readonly deps: ReconcilerDeps) {}

  async reconcile(key: string): Promise<void> {
    const { kind } = parseKey(key);
    const end = this.deps.metrics.reconcileDuration.startTimer({ kind });
    let outcome: Outcome = 'error';
    try {
      outcome = await this.step(key);
    } catch (e: unknown) {
      // A rejected write (409 Conflict on a stale resourceVersion, an API server error, an Ingress
      // that could not be removed): no watch event may follow, so the key comes back on its own.
      this.retry(key, `reconcile failed: ${describeError(e)}`);
    } finally {
      end();
      this.deps.metrics.reconciles.inc({ kind, result: outcome });
    }
  }

  private async step(key: string): Promise<Outcome> {
    const r = this.deps.cached(key);
    if (r === undefined) return this.forget(key);
    if (isDeleting(r)) return this.finalize(key, r);
    if (!hasFinalizer(r)) {
      const updated = await this.deps.kube.mergePatch(r, {
        metadata: { finalizers: [...(r.metadata.finalizers ?? []), FINALIZER], resourceVersion: r.metadata.resourceVersion },
      });
      if (updated === undefined) return this.forget(key);
      this.deps.remember({ ...updated, kind: r.kind });
      return this.step(key);
    }
    const result = await this.deps.applier.sync();
    const verdict = await this.withRoutes(r, this.verdictOf(key, result));
    if (!(await this.writeStatus(r, verdict, result))) return this.forget(key);
    return this.requeue(key, r, verdict);
  }

  /** The object went away while we worked on it: nothing to requeue. */
  private forget(key: string): Outcome {
    this.backoff.reset(key);
    return 'gone';
  }

  private retry(key: string, why: string): void {
    const delay = this.backoff.next(key);
    this.deps.log(`${key}: ${why}; retrying in ${delay} ms`);
    this.queue?.addAfter(key, delay);
  }

  private async finalize(key: string, r: Resource): Promise<Outcome> {
    if (!hasFinalizer(r)) return this.forget(key);
    const result = await this.deps.applier.sync();
    if (!result.ok) {
      if (!(await this.writeStatus(r, transient(Reason.DatabaseError, `cleaning up failed: ${result.error ?? ''}`), result))) return this.forget(key);
      this.retry(key, `cleaning up failed: ${result.error ?? ''}`);
      return 'error';
    }
    if (r.kind === 'ApiRoot') await this.deps.ingress.remove(r);
    const finalizers = (r.metadata.finalizers ?? []).filter((f) => f !== FINALIZER);
    await this.deps.kube.mergePatch(r, { metadata: { finalizers, resourceVersion: r.metadata.resourceVersion } });
    this.backoff.reset(key);
    this.deps.log(`${key}: deleted (deletionPolicy ${typeof r.spec['deletionPolicy'] === 'string' ? r.spec['deletionPolicy'] : 'Retain'})`);
    return 'deleted';
  }

  /** An applied ApiRoot also gets the Ingress of its hostnames; failing to write it is a transient error. */
  private async withRoutes(r: Resource, v: Verdict): Promise<Verdict> {
    if (r.kind !== 'ApiRoot' || !v.ready) return v;
    try {
      await this.deps.ingress.reconcile(r);
      return v;
    } catch (e: unknown) {
      return transient(Reason.IngressError, `the Ingress of spec.hostnames could not be written: ${describeError(e)}`);
    }
  }

  private verdictOf(key: string, result: SyncResult): Verdict {
    if (!result.ok) return transient(Reason.DatabaseError, result.error ?? 'the database apply failed');
    return result.failures.get(key) ?? ok();
  }

  private requeue(key: string, r: Resource, v: Verdict): Outcome {
    if (v.ready) {
      this.backoff.reset(key);
      this.queue?.addAfter(key, this.deps.resyncMs);
      return 'success';
    }
    if (v.permanent) {
      // Nothing retries an invalid spec; its fix starts a new series of attempts.
      this.backoff.reset(key);
      return 'invalid';
    }
    this.retry(key, `${r.kind} ${v.reason}: ${v.message}`);
    return 'error';
  }

  /**
   * Writes conditions (and url/id) through the status subresource, only when something changed;
   * records an Event when the reason changes. False if the object turned out to be gone.
   */
  private async writeStatus(r: Resource, v: Verdict, result: SyncResult): Promise<boolean> {
    const status = nextStatus(r, v, this.statusFields(r, result));
    if (status === undefined) return true;
    const patched = await this.deps.kube.patchStatus(r, status);
    if (patched === undefined) return false;
    this.deps.remember({ ...patched, kind: r.kind });
    const prevReason = r.status?.conditions?.find((c) => c.type === 'Ready')?.reason;
    if (prevReason !== v.reason) await this.deps.kube.event(r, v.ready ? 'Normal' : 'Warning', v.reason, v.message);
    return true;
  }

  private statusFields(r: Resource, result: SyncResult): Record<string, string> {
    if (r.kind === 'ApiRoot') return { url: this.deps.rootUrl(typeof r.spec['path'] === 'string' ? r.spec['path'] : r.metadata.name) };
    if (r.kind === 'Collection') {
      const id = result.collectionIds.get(`${String(r.spec['apiRoot'])}/${r.metadata.name}`);
      return id === undefined ? {} : { id };
    }
    return {};
  }
}

/** The status to patch for a verdict, or undefined when it would change nothing. observedGeneration moves only on success. */
function nextStatus(r: Resource, v: Verdict, extra: Record<string, string>): Record<string, unknown> | undefined {
  const conditions = conditionsFor(r, v, new Date());
  const observed = v.ready ? (r.metadata.generation ?? 0) : r.status?.observedGeneration;
  const status = { conditions, ...extra, ...(observed !== undefined && { observedGeneration: observed }) };
  return sameStatus(r, status) ? undefined : status;
}

function sameStatus(r: Resource, next: { conditions: Condition[]; observedGeneration?: number } & Record<string, unknown>): boolean {
  const current = (r.status ?? {}) as Record<string, unknown>;
  if (!sameConditions(r.status?.conditions, next.conditions) || next.observedGeneration !== r.status?.observedGeneration) return false;
  return Object.entries(next).every(([k, val]) => k === 'conditions' || k === 'observedGeneration' || current[k] === val);
}
