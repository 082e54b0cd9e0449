import type { V1Ingress } from '@kubernetes/client-node';
import type { KubeClient } from './kube';
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

/** What the Reconciler needs of Ingress handling (IngressManager; its specs drive it over a fake KubeClient). */
export interface IngressPort {
  /** Applies the Ingress of the ApiRoot's hostnames, or removes it when there are none. */
  reconcile(r: Resource): Promise<void>;
  /** Removes the ApiRoot's Ingress, if any. */
  remove(r: Resource): Promise<void>;
}

/** The Kubernetes calls IngressManager makes. */
export type IngressClient = Pick<KubeClient, 'applyIngress' | 'deleteIngress'>;

/** Owns (server-side apply) or removes the Ingress of an ApiRoot's hostnames. */
export class IngressManager implements IngressPort {
  constructor(
    private readonly kube: IngressClient,
    private readonly settings: IngressSettings,
  ) {}

  async reconcile(r: Resource): Promise<void> {
    const hostnames = Array.isArray(r.spec['hostnames']) ? (r.spec['hostnames'] as string[]) : [];
    if (hostnames.length === 0) return this.remove(r);
    await this.kube.applyIngress(desiredIngress(r, hostnames, this.settings));
  }

  async remove(r: Resource): Promise<void> {
    await this.kube.deleteIngress(r.metadata.namespace, ingressName(r.metadata.name));
  }
}
