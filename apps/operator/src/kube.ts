import { CoreV1Api, CustomObjectsApi, KubeConfig, NetworkingV1Api, PatchStrategy, setHeaderOptions, Watch, type V1Ingress } from '@kubernetes/client-node';
import { FIELD_MANAGER, GROUP, PLURAL, VERSION, type Kind, type Resource } from './resources';

/**
 * The Kubernetes writes the reconcile flow makes (Reconciler, IngressManager): implemented by
 * {@link Kube} against an API server, and by testing/fake-kube.ts in memory for unit specs.
 * NotFound is an answer here, not an error: a write to an object that is gone resolves undefined
 * (or false); every other API error (409 Conflict on a stale resourceVersion, 5xx) rejects.
 */
export interface KubeClient {
  /** JSON merge patch of the object (metadata.finalizers); a metadata.resourceVersion in the body is a precondition. Undefined if it is gone. */
  mergePatch(r: Resource, body: Record<string, unknown>): Promise<Resource | undefined>;
  /** JSON merge patch of the status subresource only. Undefined if the object is gone. */
  patchStatus(r: Resource, status: Record<string, unknown>): Promise<Resource | undefined>;
  /** Records an Event on the resource; best effort, never rejects. */
  event(r: Resource, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void>;
  /** Server-side apply of an Ingress (our field manager, forced). */
  applyIngress(ingress: V1Ingress): Promise<void>;
  /** Deletes an Ingress; false if there was none. */
  deleteIngress(namespace: string, name: string): Promise<boolean>;
}

/** The few Kubernetes calls the operator makes, typed for our resources. */
export class Kube implements KubeClient {
  readonly custom: CustomObjectsApi;
  readonly core: CoreV1Api;
  readonly networking: NetworkingV1Api;
  readonly watcher: Watch;

  constructor(readonly config: KubeConfig) {
    this.custom = config.makeApiClient(CustomObjectsApi);
    this.core = config.makeApiClient(CoreV1Api);
    this.networking = config.makeApiClient(NetworkingV1Api);
    this.watcher = new Watch(config);
  }

  static fromEnvironment(kubeconfig?: string): Kube {
    const kc = new KubeConfig();
    if (kubeconfig !== undefined) kc.loadFromFile(kubeconfig);
    else kc.loadFromDefault();
    return new Kube(kc);
  }

  /** The collection path of a kind, cluster-wide or in one namespace. */
  static path(kind: Kind, namespace: string | undefined): string {
    return namespace === undefined ? `/apis/${GROUP}/${VERSION}/${PLURAL[kind]}` : `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURAL[kind]}`;
  }

  async list(kind: Kind, namespace: string | undefined): Promise<{ items: Resource[]; resourceVersion: string }> {
    const plural = PLURAL[kind];
    const res = (await (namespace === undefined
      ? this.custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural })
      : this.custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural }))) as {
      items: Resource[];
      metadata: { resourceVersion: string };
    };
    return { items: res.items.map((r) => ({ ...r, kind })), resourceVersion: res.metadata.resourceVersion };
  }

  /** JSON merge patch of the object (finalizers). Returns the new object, or undefined if it is gone. */
  async mergePatch(r: Resource, body: Record<string, unknown>): Promise<Resource | undefined> {
    try {
      return (await this.custom.patchNamespacedCustomObject(
        { group: GROUP, version: VERSION, namespace: r.metadata.namespace, plural: PLURAL[r.kind], name: r.metadata.name, body, fieldManager: FIELD_MANAGER },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      )) as Resource;
    } catch (e: unknown) {
      if (statusCode(e) === 404) return undefined;
      throw e;
    }
  }

  /** Merge patch of the status subresource only. */
  async patchStatus(r: Resource, status: Record<string, unknown>): Promise<Resource | undefined> {
    try {
      return (await this.custom.patchNamespacedCustomObjectStatus(
        {
          group: GROUP,
          version: VERSION,
          namespace: r.metadata.namespace,
          plural: PLURAL[r.kind],
          name: r.metadata.name,
          body: { status },
          fieldManager: FIELD_MANAGER,
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      )) as Resource;
    } catch (e: unknown) {
      if (statusCode(e) !== 404) throw e;
      return undefined;
    }
  }

  /** Records a Kubernetes Event on the resource (best effort: failing to record never fails a reconcile). */
  async event(r: Resource, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const now = new Date();
    await this.core
      .createNamespacedEvent({
        namespace: r.metadata.namespace,
        body: {
          metadata: { generateName: `${r.metadata.name}.`, namespace: r.metadata.namespace },
          involvedObject: { apiVersion: `${GROUP}/${VERSION}`, kind: r.kind, name: r.metadata.name, namespace: r.metadata.namespace, uid: r.metadata.uid },
          type,
          reason,
          message: message.slice(0, 1024),
          source: { component: FIELD_MANAGER },
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
          reportingComponent: FIELD_MANAGER,
        },
      })
      .catch(() => undefined);
  }

  async applyIngress(ingress: V1Ingress): Promise<void> {
    await this.networking.patchNamespacedIngress(
      { name: ingress.metadata?.name ?? '', namespace: ingress.metadata?.namespace ?? '', body: ingress, fieldManager: FIELD_MANAGER, force: true },
      setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
    );
  }

  async deleteIngress(namespace: string, name: string): Promise<boolean> {
    try {
      await this.networking.deleteNamespacedIngress({ name, namespace });
      return true;
    } catch (e: unknown) {
      if (statusCode(e) === 404) return false;
      throw e;
    }
  }
}

/** The HTTP status of a client-node ApiException, if it is one. */
export function statusCode(e: unknown): number | undefined {
  if (typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'number') return e.code;
  return undefined;
}

/** A one-line description of an error: the API server's own message for client-node ApiExceptions. */
export function describeError(e: unknown): string {
  if (typeof e === 'object' && e !== null && 'body' in e && typeof e.body === 'string') {
    try {
      const body = JSON.parse(e.body) as { message?: unknown };
      if (typeof body.message === 'string') return `HTTP ${statusCode(e) ?? '?'}: ${body.message}`;
    } catch {
      // not a Status body
    }
  }
  return e instanceof Error ? (e.message.split('\n')[0] ?? e.message) : String(e);
}
