import { describe, expect, it } from 'vitest';
import { describeError, statusCode } from '../kube';
import { FINALIZER, type Resource } from '../resources';
import { apiError, FakeKube, jsonMergePatch, WatchCache, type WatchType } from './fake-kube';

const NS = 'tenants';

function withRoot() {
  const kube = new FakeKube();
  const created = kube.create({ kind: 'ApiRoot', metadata: { name: 'alpha', namespace: NS }, spec: { title: 'Alpha' } });
  return { kube, created };
}

/** The rejection of a call, for its HTTP status and message. */
async function rejection(p: Promise<unknown> | (() => unknown)): Promise<unknown> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e: unknown) {
    return e;
  }
  throw new Error('expected a rejection');
}

describe('FakeKube (the API server semantics the reconciler specs rely on)', () => {
  it('fills in uid, generation 1, a resourceVersion and creationTimestamp, and refuses a second create with 409 AlreadyExists', async () => {
    const { kube, created } = withRoot();
    expect(created.metadata).toMatchObject({ name: 'alpha', namespace: NS, generation: 1, resourceVersion: '1' });
    expect(created.metadata.uid).not.toBe('');
    expect(created.metadata.creationTimestamp).toBeDefined();
    const e = await rejection(() => kube.create({ kind: 'ApiRoot', metadata: { name: 'alpha', namespace: NS }, spec: {} }));
    expect(statusCode(e)).toBe(409);
    expect(describeError(e)).toBe('HTTP 409: apiroots.taxiway.io "alpha" already exists');
  });

  it('hands out copies: changing a returned object changes nothing stored', () => {
    const { kube, created } = withRoot();
    created.spec['title'] = 'mutated';
    expect(kube.get('ApiRoot', NS, 'alpha')?.spec['title']).toBe('Alpha');
  });

  it('takes a new resourceVersion on every write that changes the object, and none on a write that changes nothing', async () => {
    const { kube, created } = withRoot();
    const a = await kube.mergePatch(created, { metadata: { finalizers: [FINALIZER] } });
    const b = await kube.patchStatus(created, { url: 'https://x/alpha/' });
    const c = await kube.patchStatus(created, { url: 'https://x/alpha/' });
    expect([a?.metadata.resourceVersion, b?.metadata.resourceVersion, c?.metadata.resourceVersion]).toEqual(['2', '3', '3']);
  });

  it('answers 409 Conflict to a patch carrying a stale resourceVersion, and applies one carrying the current one', async () => {
    const { kube, created } = withRoot();
    kube.edit('ApiRoot', NS, 'alpha', (r) => {
      r.spec['title'] = 'Beta';
    });
    const e = await rejection(kube.mergePatch(created, { metadata: { finalizers: [FINALIZER], resourceVersion: created.metadata.resourceVersion } }));
    expect(statusCode(e)).toBe(409);
    expect(describeError(e)).toContain('the object has been modified');
    expect(kube.get('ApiRoot', NS, 'alpha')?.metadata.finalizers).toBeUndefined();

    const fresh = kube.get('ApiRoot', NS, 'alpha')!;
    const ok = await kube.mergePatch(fresh, { metadata: { finalizers: [FINALIZER], resourceVersion: fresh.metadata.resourceVersion } });
    expect(ok?.metadata.finalizers).toEqual([FINALIZER]);
    expect(statusCode(await rejection(() => kube.update(created)))).toBe(409);
  });

  it('answers undefined to writes of a missing object through KubeClient, and 404 to the test-side verbs', async () => {
    const kube = new FakeKube();
    const ghost: Resource = { apiVersion: 'taxiway.io/v1alpha1', kind: 'ApiRoot', metadata: { name: 'ghost', namespace: NS, uid: 'u' }, spec: {} };
    expect(await kube.mergePatch(ghost, { metadata: { finalizers: [FINALIZER] } })).toBeUndefined();
    expect(await kube.patchStatus(ghost, { url: 'x' })).toBeUndefined();
    expect(await kube.deleteIngress(NS, 'ghost')).toBe(false);
    expect(statusCode(await rejection(() => kube.delete('ApiRoot', NS, 'ghost')))).toBe(404);
    expect(kube.get('ApiRoot', NS, 'ghost')).toBeUndefined();
  });

  it('bumps generation on a spec change only: not on metadata or status writes', async () => {
    const { kube, created } = withRoot();
    await kube.mergePatch(created, { metadata: { finalizers: [FINALIZER] } });
    await kube.patchStatus(created, { url: 'https://x/alpha/' });
    expect(kube.get('ApiRoot', NS, 'alpha')?.metadata.generation).toBe(1);
    const r = await kube.mergePatch(created, { spec: { title: null, description: 'd' } });
    expect(r?.metadata.generation).toBe(2);
    expect(r?.spec).toEqual({ description: 'd' });
  });

  it('keeps spec and status apart: the main resource ignores status, the status subresource ignores the rest', async () => {
    const { kube, created } = withRoot();
    await kube.patchStatus(created, { url: 'https://x/alpha/', conditions: [] });
    const main = await kube.mergePatch(created, { status: { url: 'forged' }, metadata: { generation: 99, uid: 'forged' } });
    expect(main?.status).toEqual({ url: 'https://x/alpha/', conditions: [] });
    expect(main?.metadata).toMatchObject({ generation: 1, uid: created.metadata.uid });
    const st = await kube.patchStatus(created, { url: null, observedGeneration: 1 });
    expect(st?.status).toEqual({ conditions: [], observedGeneration: 1 });
    expect(st?.spec).toEqual({ title: 'Alpha' });
  });

  it('marks an object with finalizers as deleting (bumping generation) and removes it with its last finalizer; refuses new finalizers meanwhile', async () => {
    const { kube, created } = withRoot();
    await kube.mergePatch(created, { metadata: { finalizers: [FINALIZER, 'example.com/other'] } });
    kube.delete('ApiRoot', NS, 'alpha');
    const r = kube.get('ApiRoot', NS, 'alpha');
    expect(r?.metadata.deletionTimestamp).toBeDefined();
    expect(r?.metadata.generation).toBe(2);

    expect(statusCode(await rejection(kube.mergePatch(created, { metadata: { finalizers: [FINALIZER, 'example.com/other', 'example.com/new'] } })))).toBe(422);
    await kube.mergePatch(created, { metadata: { finalizers: ['example.com/other'] } });
    expect(kube.get('ApiRoot', NS, 'alpha')?.metadata.finalizers).toEqual(['example.com/other']);
    await kube.mergePatch(created, { metadata: { finalizers: [] } });
    expect(kube.get('ApiRoot', NS, 'alpha')).toBeUndefined();
  });

  it('removes an object without finalizers at once', () => {
    const { kube } = withRoot();
    kube.delete('ApiRoot', NS, 'alpha');
    expect(kube.get('ApiRoot', NS, 'alpha')).toBeUndefined();
  });

  it('tells watchers every change in order, and a paused WatchCache stays stale until resumed', async () => {
    const { kube, created } = withRoot();
    const seen: string[] = [];
    kube.watch((type: WatchType, r) => seen.push(`${type}@${String(r.metadata.resourceVersion)}`));
    const cache = new WatchCache(kube);
    const key = 'ApiRoot/tenants/alpha';
    cache.pause();
    await kube.mergePatch(created, { metadata: { finalizers: [FINALIZER] } });
    expect(cache.cached(key)?.metadata.resourceVersion).toBe('1');
    cache.resume();
    expect(cache.cached(key)?.metadata.resourceVersion).toBe('2');
    kube.delete('ApiRoot', NS, 'alpha');
    await kube.mergePatch(kube.get('ApiRoot', NS, 'alpha')!, { metadata: { finalizers: null } });
    expect(seen).toEqual(['MODIFIED@2', 'MODIFIED@3', 'DELETED@4']);
    expect(cache.cached(key)).toBeUndefined();
  });

  it('lets an interceptor fail a call with an API error, and records every call', async () => {
    const { kube, created } = withRoot();
    kube.intercept((req) => {
      if (req.verb === 'patchStatus') throw apiError(500, 'InternalError', 'etcd timeout');
    });
    expect(describeError(await rejection(kube.patchStatus(created, { url: 'x' })))).toBe('HTTP 500: etcd timeout');
    await kube.event(created, 'Normal', 'Reconciled', 'ok');
    expect(kube.requests.map((r) => r.verb)).toEqual(['patchStatus', 'event']);
    expect(kube.events).toHaveLength(1);
  });

  it('merges per RFC 7386: objects merge, null removes, arrays replace', () => {
    expect(jsonMergePatch({ a: { b: 1, c: 2 }, l: [1, 2] }, { a: { b: null, d: 3 }, l: [3] })).toEqual({ a: { c: 2, d: 3 }, l: [3] });
  });
});
