import { ApiException, type V1Ingress } from '@kubernetes/client-node';
import type { KubeClient } from '../kube';
import { GROUP, PLURAL, VERSION, keyOf, resourceKey, type Kind, type ObjectMeta, type Resource } from '../resources';

/**
 * An in-memory Kubernetes API for unit specs of the reconcile flow, in the manner of
 * controller-runtime's fake client (what CloudNativePG tests its controllers with): a real object
 * store with the API server's semantics that matter to a controller, not per-call mocks.
 *
 * - Every write that changes an object takes the next resourceVersion (one counter, like etcd); a
 *   write that changes nothing is not a write: no new resourceVersion, no watch event.
 * - A write carrying metadata.resourceVersion is a precondition: stale → 409 Conflict.
 * - Custom resources have the status subresource: the main resource ignores `status`, the status
 *   subresource ignores everything else. `generation` moves when anything but metadata and status
 *   changes (and once when deletion starts on an object with finalizers).
 * - Delete of an object with finalizers sets deletionTimestamp; the write that removes its last
 *   finalizer removes it. No new finalizer may be added once it is deleting (422).
 * - Missing objects: 404 for the test-side verbs; the KubeClient verbs answer undefined/false, as
 *   {@link KubeClient} specifies (Kube maps the API server's 404 the same way).
 * - Errors are client-node ApiExceptions with a Status body, as Kube's callers see them.
 */
export class FakeKube implements KubeClient {
  /** Every KubeClient call, in order (what the code under test asked of the API server). */
  readonly requests: FakeRequest[] = [];
  /** Events recorded through {@link event}. */
  readonly events: RecordedEvent[] = [];
  /** The API server's clock (creationTimestamp, deletionTimestamp). */
  now: () => Date = () => new Date();

  private readonly objects = new Map<string, Resource>();
  private readonly ingresses = new Map<string, V1Ingress>();
  private readonly watchers = new Set<WatchListener>();
  private readonly interceptors = new Set<Interceptor>();
  private revision = 0;
  private uids = 0;

  // --- What users and other controllers do (not part of KubeClient) ---

  /** Creates an object; the server fills in uid, generation 1, resourceVersion, creationTimestamp. 409 AlreadyExists if present. */
  create(obj: NewResource): Resource {
    const key = keyOf(obj.kind, obj.metadata.namespace, obj.metadata.name);
    if (this.objects.has(key)) throw apiError(409, 'AlreadyExists', `${resourceName(obj.kind, obj.metadata.name)} already exists`);
    const r: Resource = {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: obj.kind,
      metadata: {
        ...normalFinalizers(obj.metadata.finalizers),
        name: obj.metadata.name,
        namespace: obj.metadata.namespace,
        uid: `uid-${++this.uids}`,
        generation: 1,
        resourceVersion: String(++this.revision),
        creationTimestamp: this.now().toISOString(),
      },
      spec: clone(obj.spec),
    };
    this.objects.set(key, r);
    this.emit('ADDED', r);
    return clone(r);
  }

  /** The object as stored now (a copy), or undefined. */
  get(kind: Kind, namespace: string, name: string): Resource | undefined {
    const r = this.objects.get(keyOf(kind, namespace, name));
    return r === undefined ? undefined : clone(r);
  }

  /** Every stored object of the kinds we serve (copies). */
  list(): Resource[] {
    return [...this.objects.values()].map(clone);
  }

  /** PUT of the main resource: a precondition on metadata.resourceVersion when set; status is ignored. 404 if missing. */
  update(r: Resource): Resource {
    const cur = this.mustGet(r.kind, r.metadata.namespace, r.metadata.name);
    precondition(cur, r.metadata.resourceVersion);
    return clone(this.writeMain(cur, clone(r)));
  }

  /** Read-modify-write of the main resource with no precondition (kubectl edit). */
  edit(kind: Kind, namespace: string, name: string, change: (r: Resource) => void): Resource {
    const cur = this.mustGet(kind, namespace, name);
    const next = clone(cur);
    change(next);
    return clone(this.writeMain(cur, next));
  }

  /** DELETE: sets deletionTimestamp if the object has finalizers, else removes it. 404 if missing. */
  delete(kind: Kind, namespace: string, name: string): void {
    const cur = this.mustGet(kind, namespace, name);
    if (cur.metadata.deletionTimestamp !== undefined) return;
    if ((cur.metadata.finalizers ?? []).length === 0) {
      this.objects.delete(resourceKey(cur));
      this.emit('DELETED', { ...cur, metadata: { ...cur.metadata, resourceVersion: String(++this.revision) } });
      return;
    }
    const next = clone(cur);
    next.metadata.deletionTimestamp = this.now().toISOString();
    next.metadata.generation = (cur.metadata.generation ?? 0) + 1;
    this.commit(cur, next);
  }

  /** The Ingress as stored now (a copy), or undefined. */
  ingress(namespace: string, name: string): V1Ingress | undefined {
    const i = this.ingresses.get(`${namespace}/${name}`);
    return i === undefined ? undefined : clone(i);
  }

  /** Follows every change from now on (ADDED, MODIFIED, DELETED), in order, synchronously. Returns the unsubscribe. */
  watch(listener: WatchListener): () => void {
    this.watchers.add(listener);
    return () => this.watchers.delete(listener);
  }

  /**
   * Runs `fn` before every KubeClient call is served (controller-runtime's interceptor.Funcs):
   * it may throw (an apiError) to fail the call, or change the store first. Returns the remover.
   */
  intercept(fn: Interceptor): () => void {
    this.interceptors.add(fn);
    return () => this.interceptors.delete(fn);
  }

  // --- KubeClient ---

  mergePatch(r: Resource, body: Record<string, unknown>): Promise<Resource | undefined> {
    return this.serve({ verb: 'mergePatch', key: resourceKey(r), body }, () => {
      const cur = this.objects.get(resourceKey(r));
      if (cur === undefined) return undefined;
      const meta = body['metadata'] as { resourceVersion?: unknown } | undefined;
      precondition(cur, typeof meta?.resourceVersion === 'string' ? meta.resourceVersion : undefined);
      return clone(this.writeMain(cur, jsonMergePatch(cur, body) as Resource));
    });
  }

  patchStatus(r: Resource, status: Record<string, unknown>): Promise<Resource | undefined> {
    return this.serve({ verb: 'patchStatus', key: resourceKey(r), body: { status } }, () => {
      const cur = this.objects.get(resourceKey(r));
      if (cur === undefined) return undefined;
      const next = clone(cur);
      const merged = jsonMergePatch(cur.status ?? {}, status) as NonNullable<Resource['status']>;
      next.status = merged;
      return clone(this.commit(cur, next));
    });
  }

  async event(r: Resource, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    // Best effort, as Kube.event: a failing (intercepted) call is swallowed.
    await this.serve({ verb: 'event', key: resourceKey(r), body: { type, reason, message } }, () => {
      this.events.push({ key: resourceKey(r), type, reason, message });
    }).catch(() => undefined);
  }

  async applyIngress(ingress: V1Ingress): Promise<void> {
    const key = `${ingress.metadata?.namespace ?? ''}/${ingress.metadata?.name ?? ''}`;
    await this.serve({ verb: 'applyIngress', key, body: ingress }, () => {
      const cur = this.ingresses.get(key);
      const next = clone(ingress);
      if (cur !== undefined && JSON.stringify({ ...cur, metadata: { ...cur.metadata, resourceVersion: undefined } }) === JSON.stringify(next)) return;
      next.metadata = { ...next.metadata, resourceVersion: String(++this.revision) };
      this.ingresses.set(key, next);
    });
  }

  deleteIngress(namespace: string, name: string): Promise<boolean> {
    return this.serve({ verb: 'deleteIngress', key: `${namespace}/${name}` }, () => {
      if (!this.ingresses.has(`${namespace}/${name}`)) return false;
      this.revision++;
      return this.ingresses.delete(`${namespace}/${name}`);
    });
  }

  // --- The API server's rules ---

  /** Serves one KubeClient call after the interceptors, asynchronously like a real round trip. */
  private async serve<T>(req: FakeRequest, handle: () => T): Promise<T> {
    this.requests.push(req);
    await Promise.resolve();
    for (const fn of [...this.interceptors]) fn(req);
    return handle();
  }

  private mustGet(kind: Kind, namespace: string, name: string): Resource {
    const cur = this.objects.get(keyOf(kind, namespace, name));
    if (cur === undefined) throw apiError(404, 'NotFound', `${resourceName(kind, name)} not found`);
    return cur;
  }

  /** A write to the main resource: status and system metadata stay as stored; no new finalizers while deleting. */
  private writeMain(cur: Resource, next: Resource): Resource {
    const finalizers = next.metadata.finalizers ?? [];
    if (cur.metadata.deletionTimestamp !== undefined && finalizers.some((f) => !(cur.metadata.finalizers ?? []).includes(f)))
      throw apiError(
        422,
        'Invalid',
        `${resourceName(cur.kind, cur.metadata.name)} is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted`,
      );
    // System fields are the server's: whatever the request says of them is dropped.
    const {
      finalizers: _f,
      name: _n,
      namespace: _ns,
      uid: _u,
      generation: _g,
      resourceVersion: _rv,
      creationTimestamp: _c,
      deletionTimestamp: _d,
      ...meta
    } = next.metadata;
    const { status: _s, ...rest } = next;
    const stored: Resource = {
      ...rest,
      apiVersion: cur.apiVersion,
      kind: cur.kind,
      metadata: { ...meta, ...normalFinalizers(finalizers), ...systemMeta(cur) },
      ...(cur.status !== undefined && { status: clone(cur.status) }),
    };
    if (specOf(stored) !== specOf(cur)) stored.metadata.generation = (cur.metadata.generation ?? 0) + 1;
    return this.commit(cur, stored);
  }

  /** Stores `next` under a new resourceVersion unless it changes nothing; finalizes a deleting object left without finalizers. */
  private commit(cur: Resource, next: Resource): Resource {
    if (JSON.stringify(sorted(next)) === JSON.stringify(sorted(cur))) return cur;
    next.metadata.resourceVersion = String(++this.revision);
    if (next.metadata.deletionTimestamp !== undefined && (next.metadata.finalizers ?? []).length === 0) {
      this.objects.delete(resourceKey(cur));
      this.emit('DELETED', next);
      return next;
    }
    this.objects.set(resourceKey(cur), next);
    this.emit('MODIFIED', next);
    return next;
  }

  private emit(type: WatchType, r: Resource): void {
    for (const w of [...this.watchers]) w(type, clone(r));
  }
}

/**
 * The operator's resource cache as the watches keep it (operator.ts): it follows the fake's
 * changes, and `remember` takes our own patch answers unless the cache already holds newer.
 * `pause()` holds watch events back, as a lagging watch would, so the cache goes stale.
 */
export class WatchCache {
  private readonly items = new Map<string, Resource>();
  private held: [WatchType, Resource][] | undefined;

  constructor(kube: FakeKube) {
    for (const r of kube.list()) this.items.set(resourceKey(r), r);
    kube.watch((type, r) => {
      if (this.held !== undefined) this.held.push([type, r]);
      else this.apply(type, r);
    });
  }

  readonly cached = (key: string): Resource | undefined => this.items.get(key);

  readonly remember = (r: Resource): void => {
    const cur = this.items.get(resourceKey(r));
    if (cur === undefined || Number(cur.metadata.resourceVersion ?? 0) <= Number(r.metadata.resourceVersion ?? 0)) this.items.set(resourceKey(r), r);
  };

  /** What the applier sees of the cluster: every cached resource. */
  resources(): Resource[] {
    return [...this.items.values()];
  }

  /** From now on, watch events wait until {@link resume}. */
  pause(): void {
    this.held ??= [];
  }

  /** Delivers the held events, in order, and follows the fake again. */
  resume(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const [type, r] of held) this.apply(type, r);
  }

  private apply(type: WatchType, r: Resource): void {
    if (type === 'DELETED') this.items.delete(resourceKey(r));
    else this.items.set(resourceKey(r), r);
  }
}

export type FakeVerb = 'mergePatch' | 'patchStatus' | 'event' | 'applyIngress' | 'deleteIngress';
export type WatchType = 'ADDED' | 'MODIFIED' | 'DELETED';
export type WatchListener = (type: WatchType, r: Resource) => void;
export type Interceptor = (req: FakeRequest) => void;

/** One KubeClient call: its verb, the key of its object (`kind/ns/name`, or `ns/name` for an Ingress) and its body. */
export interface FakeRequest {
  readonly verb: FakeVerb;
  readonly key: string;
  readonly body?: unknown;
}

export interface RecordedEvent {
  readonly key: string;
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
}

/** An object as a test creates it: the API server fills in the rest of its metadata. */
export interface NewResource {
  readonly kind: Kind;
  readonly metadata: { readonly name: string; readonly namespace: string; readonly finalizers?: readonly string[] };
  readonly spec: Record<string, unknown>;
}

/** A client-node ApiException with a Kubernetes Status body, as the API server answers a failed request. */
export function apiError(code: number, reason: string, message: string): ApiException<string> {
  return new ApiException(code, message, JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }), {});
}

const resourceName = (kind: Kind, name: string): string => `${PLURAL[kind]}.${GROUP} "${name}"`;

function precondition(cur: Resource, resourceVersion: string | undefined): void {
  if (resourceVersion === undefined || resourceVersion === cur.metadata.resourceVersion) return;
  throw apiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${resourceName(cur.kind, cur.metadata.name)}: the object has been modified; please apply your changes to the latest version and try again`,
  );
}

/** The metadata only the API server writes, as stored. */
function systemMeta(cur: Resource): Omit<ObjectMeta, 'finalizers'> {
  const m = cur.metadata;
  return {
    name: m.name,
    namespace: m.namespace,
    uid: m.uid,
    generation: m.generation ?? 0,
    resourceVersion: m.resourceVersion ?? '0',
    ...(m.creationTimestamp !== undefined && { creationTimestamp: m.creationTimestamp }),
    ...(m.deletionTimestamp !== undefined && { deletionTimestamp: m.deletionTimestamp }),
  };
}

/** An empty finalizer list is no list (the API server omits it). */
const normalFinalizers = (f: readonly string[] | undefined): { finalizers?: string[] } => (f === undefined || f.length === 0 ? {} : { finalizers: [...f] });

/** Everything but metadata and status: what moves `generation` when it changes. */
function specOf(r: Resource): string {
  const { metadata: _m, status: _s, ...rest } = r;
  return JSON.stringify(sorted(rest));
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** RFC 7386 JSON merge patch: objects merge, null removes, anything else (arrays too) replaces. */
export function jsonMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const result: Record<string, unknown> = isObject(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete result[k];
    else result[k] = jsonMergePatch(result[k], v);
  }
  return result;
}

/** A copy with object keys sorted, so that two equal objects serialize the same. */
function sorted(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sorted);
  if (!isObject(v)) return v;
  return Object.fromEntries(
    Object.keys(v)
      .filter((k) => v[k] !== undefined)
      .sort()
      .map((k) => [k, sorted(v[k])]),
  );
}

const clone = <T>(v: T): T => structuredClone(v);
