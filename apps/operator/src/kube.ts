import { CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions, Watch } from '@kubernetes/client-node';
import { FIELD_MANAGER, GROUP, PLURAL, VERSION, type Kind, type Resource } from './resources';

/** The few Kubernetes calls the operator makes, typed for our resources. */
export class Kube {
  readonly custom: CustomObjectsApi;
  readonly core: CoreV1Api;
  readonly watcher: Watch;

  constructor(readonly config: KubeConfig) {
    this.custom = config.makeApiClient(CustomObjectsApi);
    this.core = config.makeApiClient(CoreV1Api);
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
