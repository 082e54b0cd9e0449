import { NetworkingV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Ingress } from '@kubernetes/client-node';
import { statusCode } from './kube';
import { FIELD_MANAGER, GROUP, VERSION, type Resource } from './resources';

/** Where per-tenant hostnames are routed: the API's Service, and the Ingress class to use. */
export interface IngressSettings {
  readonly serviceName: string;
  readonly servicePort: number;
  readonly className: string | undefined;
  /** Secret holding the TLS certificate for every hostname (`tls-<root>` if undefined and tls is on). */
  readonly tls: boolean;
}

export const ingressName = (root: string): string => `taxiway-${root}`.slice(0, 253);

/** The Ingress an ApiRoot with `spec.hostnames` owns: every hostname, every path, to the API Service. */
export function desiredIngress(r: Resource, hostnames: readonly string[], s: IngressSettings): V1Ingress {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name: ingressName(r.metadata.name),
      namespace: r.metadata.namespace,
      labels: { 'app.kubernetes.io/managed-by': FIELD_MANAGER, 'taxiway.io/api-root': r.metadata.name },
      ownerReferences: [
        { apiVersion: `${GROUP}/${VERSION}`, kind: 'ApiRoot', name: r.metadata.name, uid: r.metadata.uid, controller: true, blockOwnerDeletion: true },
      ],
    },
    spec: {
      ...(s.className !== undefined && { ingressClassName: s.className }),
      ...(s.tls && { tls: [{ hosts: [...hostnames], secretName: `taxiway-${r.metadata.name}-tls` }] }),
      rules: hostnames.map((host) => ({
        host,
        http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: s.serviceName, port: { number: s.servicePort } } } }] },
      })),
    },
  };
}

/** Owns (server-side apply) or removes the Ingress of an ApiRoot's hostnames. */
export class IngressManager {
  private readonly api: NetworkingV1Api;

  constructor(
    kc: KubeConfig,
    private readonly settings: IngressSettings,
  ) {
    this.api = kc.makeApiClient(NetworkingV1Api);
  }

  async reconcile(r: Resource): Promise<void> {
    const hostnames = Array.isArray(r.spec['hostnames']) ? (r.spec['hostnames'] as string[]) : [];
    if (hostnames.length === 0) return this.remove(r);
    await this.api.patchNamespacedIngress(
      {
        name: ingressName(r.metadata.name),
        namespace: r.metadata.namespace,
        body: desiredIngress(r, hostnames, this.settings),
        fieldManager: FIELD_MANAGER,
        force: true,
      },
      setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
    );
  }

  async remove(r: Resource): Promise<void> {
    try {
      await this.api.deleteNamespacedIngress({ name: ingressName(r.metadata.name), namespace: r.metadata.namespace });
    } catch (e: unknown) {
      if (statusCode(e) !== 404) throw e;
    }
  }
}
