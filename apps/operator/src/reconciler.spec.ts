import { afterEach, describe, expect, it, vi } from 'vitest';
import { OperatorMetrics } from '@taxiway/metrics';
import { IngressManager, ingressName } from './ingress';
import { Reconciler, type Requeue } from './reconciler';
import { FINALIZER, keyOf, type Condition, type Kind, type Resource } from './resources';
import { invalid, Reason, transient } from './status';
import { FakeApplier } from './testing/fake-applier';
import { apiError, FakeKube, WatchCache, type NewResource } from './testing/fake-kube';

const NS = 'tenants';
const RESYNC_MS = 300_000;

/** The KeyedQueue as the Reconciler sees it: every requeue, with its delay. */
class RecordingQueue implements Requeue {
  readonly added: { key: string; ms: number }[] = [];

  addAfter(key: string, ms: number): void {
    this.added.push({ key, ms });
  }

  delays(key: string): number[] {
    return this.added.filter((a) => a.key === key).map((a) => a.ms);
  }
}

/** A Reconciler wired as operator.ts wires it, over the fake API server, its watch cache and a fake database. */
function setup() {
  const kube = new FakeKube();
  const cache = new WatchCache(kube);
  const applier = new FakeApplier(() => cache.resources());
  const metrics = new OperatorMetrics();
  const queue = new RecordingQueue();
  const logs: string[] = [];
  const reconciler = new Reconciler({
    kube,
    applier,
    metrics,
    cached: cache.cached,
    remember: cache.remember,
    rootUrl: (path) => `https://taxii.example.test/${path}/`,
    resyncMs: RESYNC_MS,
    ingress: new IngressManager(kube, { serviceName: 'taxiway-api', servicePort: 8080, className: 'nginx', tls: false }),
    log: (msg) => logs.push(msg),
  });
  reconciler.queue = queue;
  /** Reconcile counts by `kind/result`, from the metric. */
  const outcomes = async (): Promise<Record<string, number>> =>
    Object.fromEntries((await metrics.reconciles.get()).values.map((v) => [`${String(v.labels.kind)}/${String(v.labels.result)}`, v.value]));
  return { kube, cache, applier, metrics, queue, logs, reconciler, outcomes };
}

const apiRoot = (name: string, spec: Record<string, unknown> = {}, finalizers?: string[]): NewResource => ({
  kind: 'ApiRoot',
  metadata: { name, namespace: NS, ...(finalizers !== undefined && { finalizers }) },
  spec: { title: `Root ${name}`, ...spec },
});

const condition = (r: Resource | undefined, type: string): Condition | undefined => r?.status?.conditions?.find((c) => c.type === type);
const summary = (r: Resource | undefined): Record<string, string> =>
  Object.fromEntries((r?.status?.conditions ?? []).map((c) => [c.type, `${c.status}/${c.reason}@${String(c.observedGeneration)}`]));

describe('Reconciler against a fake Kubernetes API', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('adds the finalizer once, keeps the finalizers of others, and sets Ready, Reconciled and Accepted with observedGeneration and url', async () => {
    const t = setup();
    t.kube.create(apiRoot('alpha', {}, ['example.com/backup']));
    const key = keyOf('ApiRoot', NS, 'alpha');

    await t.reconciler.reconcile(key);
    await t.reconciler.reconcile(key);

    const r = t.kube.get('ApiRoot', NS, 'alpha');
    expect(r?.metadata.finalizers).toEqual(['example.com/backup', FINALIZER]);
    expect(t.kube.requests.filter((q) => q.verb === 'mergePatch')).toHaveLength(1);
    expect(summary(r)).toEqual({ Ready: 'True/Reconciled@1', Reconciled: 'True/Reconciled@1', Accepted: 'True/Accepted@1' });
    expect(r?.status?.observedGeneration).toBe(1);
    expect(r?.status?.url).toBe('https://taxii.example.test/alpha/');
    expect(t.applier.applied).toEqual(new Set([key]));
    expect(t.kube.events).toEqual([{ key, type: 'Normal', reason: Reason.Reconciled, message: 'Applied to the database' }]);
    expect(t.queue.delays(key)).toEqual([RESYNC_MS, RESYNC_MS]);
    expect(await t.outcomes()).toEqual({ 'ApiRoot/success': 2 });
  });

  it('writes nothing to the status subresource when nothing changed, and the resourceVersion stays', async () => {
    const t = setup();
    t.kube.create(apiRoot('alpha'));
    const key = keyOf('ApiRoot', NS, 'alpha');
    await t.reconciler.reconcile(key);
    const before = t.kube.get('ApiRoot', NS, 'alpha');

    await t.reconciler.reconcile(key);
    await t.reconciler.reconcile(key);

    expect(t.kube.requests.filter((q) => q.verb === 'patchStatus')).toHaveLength(1);
    expect(t.kube.events).toHaveLength(1);
    expect(t.kube.get('ApiRoot', NS, 'alpha')?.metadata.resourceVersion).toBe(before?.metadata.resourceVersion);
    expect(t.applier.syncs).toBe(3);
  });

  it('follows a spec change to the new generation and keeps lastTransitionTime while Ready stays True', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-01-01T00:00:00Z'));
    const t = setup();
    t.kube.create(apiRoot('alpha'));
    const key = keyOf('ApiRoot', NS, 'alpha');
    await t.reconciler.reconcile(key);

    vi.setSystemTime(new Date('2026-01-01T01:00:00Z'));
    t.kube.edit('ApiRoot', NS, 'alpha', (r) => {
      r.spec['title'] = 'Renamed';
    });
    await t.reconciler.reconcile(key);

    const r = t.kube.get('ApiRoot', NS, 'alpha');
    expect(r?.metadata.generation).toBe(2);
    expect(r?.status?.observedGeneration).toBe(2);
    expect(summary(r)).toEqual({ Ready: 'True/Reconciled@2', Reconciled: 'True/Reconciled@2', Accepted: 'True/Accepted@2' });
    expect(condition(r, 'Ready')?.lastTransitionTime).toBe('2026-01-01T00:00:00.000Z');
    expect(t.kube.events).toHaveLength(1);
  });

  it('marks an invalid spec InvalidSpec and Accepted=False with a Warning, does not requeue it, and recovers when the spec is fixed', async () => {
    const t = setup();
    t.kube.create(apiRoot('alpha', { maxContentLength: -1 }));
    const key = keyOf('ApiRoot', NS, 'alpha');
    t.applier.reject(key, invalid(Reason.InvalidSpec, 'maxContentLength must be positive'));

    await t.reconciler.reconcile(key);

    let r = t.kube.get('ApiRoot', NS, 'alpha');
    expect(summary(r)).toEqual({ Ready: 'False/InvalidSpec@1', Reconciled: 'False/InvalidSpec@1', Accepted: 'False/InvalidSpec@1' });
    expect(condition(r, 'Ready')?.message).toBe('maxContentLength must be positive');
    expect(r?.status?.observedGeneration).toBeUndefined();
    expect(t.kube.events).toEqual([{ key, type: 'Warning', reason: Reason.InvalidSpec, message: 'maxContentLength must be positive' }]);
    expect(t.queue.delays(key)).toEqual([]);
    expect(t.applier.applied.has(key)).toBe(false);

    t.applier.accept(key);
    t.kube.edit('ApiRoot', NS, 'alpha', (x) => {
      x.spec['maxContentLength'] = 1024;
    });
    await t.reconciler.reconcile(key);

    r = t.kube.get('ApiRoot', NS, 'alpha');
    expect(summary(r)).toEqual({ Ready: 'True/Reconciled@2', Reconciled: 'True/Reconciled@2', Accepted: 'True/Accepted@2' });
    expect(r?.status?.observedGeneration).toBe(2);
    expect(t.queue.delays(key)).toEqual([RESYNC_MS]);
    expect(await t.outcomes()).toEqual({ 'ApiRoot/invalid': 1, 'ApiRoot/success': 1 });
  });

  it('backs off 1 s, 2 s, 4 s on a transient database error, keeps observedGeneration, and starts over after a success', async () => {
    const t = setup();
    t.kube.create(apiRoot('alpha'));
    const key = keyOf('ApiRoot', NS, 'alpha');
    t.applier.failNext('connect ECONNREFUSED 127.0.0.1:5432', 3);

    for (let i = 0; i < 3; i++) await t.reconciler.reconcile(key);

    let r = t.kube.get('ApiRoot', NS, 'alpha');
    expect(summary(r)).toEqual({ Ready: 'False/DatabaseError@1', Reconciled: 'False/DatabaseError@1', Accepted: 'True/Accepted@1' });
    expect(condition(r, 'Ready')?.message).toBe('connect ECONNREFUSED 127.0.0.1:5432');
    expect(r?.status?.observedGeneration).toBeUndefined();
    expect(t.queue.delays(key)).toEqual([1000, 2000, 4000]);
    expect(t.kube.events.map((e) => e.reason)).toEqual([Reason.DatabaseError]);

    await t.reconciler.reconcile(key);
    r = t.kube.get('ApiRoot', NS, 'alpha');
    expect(condition(r, 'Ready')?.status).toBe('True');
    expect(r?.status?.observedGeneration).toBe(1);

    t.applier.failNext();
    await t.reconciler.reconcile(key);
    expect(t.queue.delays(key)).toEqual([1000, 2000, 4000, RESYNC_MS, 1000]);
    expect(await t.outcomes()).toEqual({ 'ApiRoot/error': 4, 'ApiRoot/success': 1 });
  });

  it('starts the backoff over after an invalid spec: the first transient error after its fix waits 1 s again', async () => {
    const t = setup();
    t.kube.create(apiRoot('alpha'));
    const key = keyOf('ApiRoot', NS, 'alpha');
    t.applier.failNext('connection refused', 2);
    await t.reconciler.reconcile(key);
    await t.reconciler.reconcile(key);
    t.applier.reject(key, invalid(Reason.InvalidSpec, 'bad'));
    await t.reconciler.reconcile(key);

    t.applier.accept(key);
    t.applier.failNext('connection refused');
    t.kube.edit('ApiRoot', NS, 'alpha', (r) => {
      r.spec['title'] = 'Fixed';
    });
    await t.reconciler.reconcile(key);

    expect(t.queue.delays(key)).toEqual([1000, 2000, 1000]);
  });

  it('retries a transient cross-object failure (ApiRootNotFound) with backoff and gives a Collection its stored id once it applies', async () => {
    const t = setup();
    t.kube.create({ kind: 'Collection', metadata: { name: 'feed', namespace: NS }, spec: { apiRoot: 'alpha', id: '9b1c0a4e-3f3e-4f6e-9a55-0d3b1a5e8c11' } });
    const key = keyOf('Collection', NS, 'feed');
    t.applier.reject(key, transient(Reason.ApiRootNotFound, `ApiRoot ${NS}/alpha does not exist or is not ready`));

    await t.reconciler.reconcile(key);
    await t.reconciler.reconcile(key);

    let c = t.kube.get('Collection', NS, 'feed');
    expect(summary(c)).toEqual({ Ready: 'False/ApiRootNotFound@1', Reconciled: 'False/ApiRootNotFound@1', Accepted: 'True/Accepted@1' });
    expect(c?.status?.id).toBeUndefined();
    expect(t.queue.delays(key)).toEqual([1000, 2000]);

    t.applier.accept(key);
    await t.reconciler.reconcile(key);

    c = t.kube.get('Collection', NS, 'feed');
    expect(condition(c, 'Ready')?.status).toBe('True');
    expect(c?.status?.id).toBe('9b1c0a4e-3f3e-4f6e-9a55-0d3b1a5e8c11');
    expect(t.kube.events.map((e) => `${e.type}/${e.reason}`)).toEqual(['Warning/ApiRootNotFound', 'Normal/Reconciled']);
  });

  it('on deletion applies without the resource, removes its Ingress and the finalizer, and the object is gone', async () => {
    const t = setup();
    t.kube.create(apiRoot('alpha', { hostnames: ['alpha.example.test'], deletionPolicy: 'Delete' }));
    const key = keyOf('ApiRoot', NS, 'alpha');
    await t.reconciler.reconcile(key);
    expect(t.kube.ingress(NS, ingressName('alpha'))?.spec?.rules?.map((x) => x.host)).toEqual(['alpha.example.test']);
    expect(t.applier.applied.has(key)).toBe(true);

    t.kube.delete('ApiRoot', NS, 'alpha');
    expect(t.kube.get('ApiRoot', NS, 'alpha')?.metadata.deletionTimestamp).toBeDefined();
    await t.reconciler.reconcile(key);

    expect(t.applier.applied.has(key)).toBe(false);
    expect(t.kube.ingress(NS, ingressName('alpha'))).toBeUndefined();
    expect(t.kube.get('ApiRoot', NS, 'alpha')).toBeUndefined();
    expect(t.cache.cached(key)).toBeUndefined();
    expect(t.logs).toContain(`${key}: deleted (deletionPolicy Delete)`);

    await t.reconciler.reconcile(key);
    expect(await t.outcomes()).toEqual({ 'ApiRoot/success': 1, 'ApiRoot/deleted': 1, 'ApiRoot/gone': 1 });
    expect(t.queue.delays(key)).toEqual([RESYNC_MS]);
  });

  it('keeps the finalizer while the cleanup fails, says so in the status, and finishes the deletion on a retry', async () => {
    const t = setup();
    t.kube.create(apiRoot('alpha'));
    const key = keyOf('ApiRoot', NS, 'alpha');
    await t.reconciler.reconcile(key);
    t.kube.delete('ApiRoot', NS, 'alpha');
    t.applier.failNext('connection terminated unexpectedly');

    await t.reconciler.reconcile(key);

    const r = t.kube.get('ApiRoot', NS, 'alpha');
    expect(r?.metadata.finalizers).toEqual([FINALIZER]);
    expect(condition(r, 'Ready')).toMatchObject({
      status: 'False',
      reason: Reason.DatabaseError,
      message: 'cleaning up failed: connection terminated unexpectedly',
    });
    expect(t.applier.applied.has(key)).toBe(true);
    expect(t.queue.delays(key)).toEqual([RESYNC_MS, 1000]);

    await t.reconciler.reconcile(key);
    expect(t.kube.get('ApiRoot', NS, 'alpha')).toBeUndefined();
    expect(t.applier.applied.has(key)).toBe(false);
    expect(await t.outcomes()).toEqual({ 'ApiRoot/success': 1, 'ApiRoot/error': 1, 'ApiRoot/deleted': 1 });
  });

  it('requeues with backoff, and does not lose, a finalizer patch refused with 409 Conflict for a stale resourceVersion', async () => {
    const t = setup();
    t.kube.create(apiRoot('alpha'));
    const key = keyOf('ApiRoot', NS, 'alpha');
    t.cache.pause(); // the watch lags: the cache keeps resourceVersion 1
    t.kube.edit('ApiRoot', NS, 'alpha', (r) => {
      r.spec['title'] = 'Changed meanwhile';
    });

    await t.reconciler.reconcile(key);

    expect(t.kube.get('ApiRoot', NS, 'alpha')?.metadata.finalizers).toBeUndefined();
    expect(t.queue.delays(key)).toEqual([1000]);
    expect(t.logs.some((l) => l.includes('HTTP 409') && l.includes('the object has been modified'))).toBe(true);
    expect(await t.outcomes()).toEqual({ 'ApiRoot/error': 1 });

    t.cache.resume();
    await t.reconciler.reconcile(key);

    const r = t.kube.get('ApiRoot', NS, 'alpha');
    expect(r?.metadata.finalizers).toEqual([FINALIZER]);
    expect(summary(r)).toEqual({ Ready: 'True/Reconciled@2', Reconciled: 'True/Reconciled@2', Accepted: 'True/Accepted@2' });
    expect(t.queue.delays(key)).toEqual([1000, RESYNC_MS]);
  });

  it('requeues, and does not lose, a deletion whose finalizer removal conflicts, then finishes it', async () => {
    const t = setup();
    t.kube.create(apiRoot('alpha'));
    const key = keyOf('ApiRoot', NS, 'alpha');
    await t.reconciler.reconcile(key);
    t.kube.delete('ApiRoot', NS, 'alpha');
    t.cache.pause();
    t.kube.edit('ApiRoot', NS, 'alpha', (r) => {
      r.spec['title'] = 'Edited while terminating';
    });

    await t.reconciler.reconcile(key);

    expect(t.kube.get('ApiRoot', NS, 'alpha')?.metadata.finalizers).toEqual([FINALIZER]);
    expect(t.queue.delays(key)).toEqual([RESYNC_MS, 1000]);

    t.cache.resume();
    await t.reconciler.reconcile(key);
    expect(t.kube.get('ApiRoot', NS, 'alpha')).toBeUndefined();
    expect(await t.outcomes()).toEqual({ 'ApiRoot/success': 1, 'ApiRoot/error': 1, 'ApiRoot/deleted': 1 });
  });

  it('ends as gone, with no Event and no requeue, when the object disappears before its finalizer is added', async () => {
    const t = setup();
    t.kube.create(apiRoot('alpha'));
    const key = keyOf('ApiRoot', NS, 'alpha');
    t.cache.pause();
    t.kube.delete('ApiRoot', NS, 'alpha'); // no finalizer yet: removed at once

    await t.reconciler.reconcile(key);

    expect(t.kube.requests.map((q) => q.verb)).toEqual(['mergePatch']);
    expect(t.applier.syncs).toBe(0);
    expect(t.queue.added).toEqual([]);
    expect(await t.outcomes()).toEqual({ 'ApiRoot/gone': 1 });
  });

  it('ends as gone, with no Event and no requeue, when the object is removed while its status is being written', async () => {
    const t = setup();
    t.kube.create(apiRoot('alpha'));
    const key = keyOf('ApiRoot', NS, 'alpha');
    await t.reconciler.reconcile(key);
    t.kube.edit('ApiRoot', NS, 'alpha', (r) => {
      r.spec['title'] = 'Changed';
    });
    // Someone deletes it and strips the finalizers (kubectl patch) just before our status write.
    const stop = t.kube.intercept((req) => {
      if (req.verb !== 'patchStatus') return;
      stop();
      t.kube.delete('ApiRoot', NS, 'alpha');
      t.kube.edit('ApiRoot', NS, 'alpha', (r) => {
        r.metadata.finalizers = [];
      });
    });

    await t.reconciler.reconcile(key);

    expect(t.kube.get('ApiRoot', NS, 'alpha')).toBeUndefined();
    expect(t.kube.events).toHaveLength(1);
    expect(t.queue.delays(key)).toEqual([RESYNC_MS]);
    expect(await t.outcomes()).toEqual({ 'ApiRoot/success': 1, 'ApiRoot/gone': 1 });
  });

  it('reports a failing Ingress write as IngressError and retries with backoff, without failing the database apply', async () => {
    const t = setup();
    t.kube.create(apiRoot('alpha', { hostnames: ['alpha.example.test'] }));
    const key = keyOf('ApiRoot', NS, 'alpha');
    const stop = t.kube.intercept((req) => {
      if (req.verb === 'applyIngress') throw apiError(403, 'Forbidden', 'ingresses.networking.k8s.io is forbidden');
    });

    await t.reconciler.reconcile(key);

    const r = t.kube.get('ApiRoot', NS, 'alpha');
    expect(condition(r, 'Ready')).toMatchObject({ status: 'False', reason: Reason.IngressError });
    expect(condition(r, 'Ready')?.message).toContain('HTTP 403: ingresses.networking.k8s.io is forbidden');
    expect(t.applier.applied.has(key)).toBe(true);
    expect(t.queue.delays(key)).toEqual([1000]);

    stop();
    await t.reconciler.reconcile(key);
    expect(condition(t.kube.get('ApiRoot', NS, 'alpha'), 'Ready')?.status).toBe('True');
    expect(t.kube.ingress(NS, ingressName('alpha'))).toBeDefined();
    expect(t.kube.events.map((e) => e.reason)).toEqual([Reason.IngressError, Reason.Reconciled]);
  });

  it('retries with backoff when the API server fails a write, and counts every outcome by kind', async () => {
    const t = setup();
    const kinds: [Kind, string][] = [
      ['ApiRoot', 'alpha'],
      ['Principal', 'alice'],
    ];
    t.kube.create(apiRoot('alpha'));
    t.kube.create({ kind: 'Principal', metadata: { name: 'alice', namespace: NS }, spec: {} });
    const stop = t.kube.intercept((req) => {
      if (req.verb === 'mergePatch') throw apiError(503, 'ServiceUnavailable', 'etcdserver: leader changed');
    });
    for (const [kind, name] of kinds) await t.reconciler.reconcile(keyOf(kind, NS, name));
    expect(t.queue.added).toEqual(kinds.map(([kind, name]) => ({ key: keyOf(kind, NS, name), ms: 1000 })));

    stop();
    for (const [kind, name] of kinds) await t.reconciler.reconcile(keyOf(kind, NS, name));
    expect(await t.outcomes()).toEqual({ 'ApiRoot/error': 1, 'Principal/error': 1, 'ApiRoot/success': 1, 'Principal/success': 1 });
    expect((await t.metrics.reconcileDuration.get()).values.find((v) => v.metricName?.endsWith('_count') && v.labels.kind === 'Principal')?.value).toBe(2);
  });
});
