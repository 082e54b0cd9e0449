import type { ApiRootSpec, CollectionSpec, PrincipalSpec } from '@taxiway/control';

/** The custom resources the operator reconciles (crds/ is the schema's source of truth; the spec types are generated from it). */
export const GROUP = 'taxiway.io';
export const VERSION = 'v1alpha1';
export const FINALIZER = 'taxiway.io/finalizer';
export const FIELD_MANAGER = 'taxiway-operator';

export const KINDS = ['ApiRoot', 'Collection', 'Principal'] as const;
export type Kind = (typeof KINDS)[number];
export const PLURAL: Readonly<Record<Kind, string>> = { ApiRoot: 'apiroots', Collection: 'collections', Principal: 'principals' };

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  finalizers?: string[];
}

export interface Resource {
  apiVersion: string;
  kind: Kind;
  metadata: ObjectMeta;
  spec: Record<string, unknown>;
  status?: { observedGeneration?: number; conditions?: Condition[]; url?: string; id?: string };
}

/** The spec type of each kind, generated from crds/ (libs/control/src/crd-types.generated.ts). */
export interface Specs {
  ApiRoot: ApiRootSpec;
  Collection: CollectionSpec;
  Principal: PrincipalSpec;
}

/** A resource of kind `K`, its spec typed by the CRD (the API server checked it against the CRD's schema and applied its defaults). */
export type ResourceOf<K extends Kind> = Resource & { kind: K; spec: Specs[K] };

export const ofKind = <K extends Kind>(r: Resource, kind: K): r is ResourceOf<K> => r.kind === kind;

/** A reference to a key of a Secret in the resource's namespace (`passwordSecretRef`, `apiKeys[].secretRef`). */
export type SecretKeyRef = NonNullable<PrincipalSpec['passwordSecretRef']>;

/** `kind/namespace/name`: the key of the per-object queue and of every cache. */
export function keyOf(kind: Kind, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

export function resourceKey(r: Resource): string {
  return keyOf(r.kind, r.metadata.namespace, r.metadata.name);
}

export function parseKey(key: string): { kind: Kind; namespace: string; name: string } {
  const [kind, namespace, name] = key.split('/');
  return { kind: kind as Kind, namespace: namespace ?? '', name: name ?? '' };
}

export const isDeleting = (r: Resource): boolean => r.metadata.deletionTimestamp !== undefined;
export const hasFinalizer = (r: Resource): boolean => r.metadata.finalizers?.includes(FINALIZER) === true;
