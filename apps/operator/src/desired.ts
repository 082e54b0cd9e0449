import { toDesiredState, type ConfigProblem, type ResourceDocument, type SecretSource } from '@taxiway/control';
import { isDomainError, type DesiredState, type PruneExemptions } from '@taxiway/domain';
import { isDeleting, keyOf, ofKind, resourceKey, type Kind, type Resource, type ResourceOf, type SecretKeyRef } from './resources';
import { invalid, Reason, transient, type Verdict } from './status';

/** The data of a Secret (decoded), or undefined if there is no such Secret. */
export type SecretLookup = (namespace: string, name: string) => Readonly<Record<string, string>> | undefined;

/**
 * libs/control's SecretSource over the operator's Secret cache: a custom resource's Secret
 * references are read in its namespace. Environment and file references are a configuration
 * file's (the CRDs have no such fields).
 */
export function secretCache(lookup: SecretLookup): SecretSource {
  return {
    read(ref) {
      if (!('secret' in ref)) return { problem: 'a custom resource takes secrets from Secrets in its namespace only' };
      const value = lookup(ref.namespace ?? '', ref.secret)?.[ref.key];
      return value === undefined ? { problem: `Secret ${ref.namespace ?? ''}/${ref.secret} has no key ${ref.key}` } : { value };
    },
  };
}

export interface DesiredOutcome {
  /** What to apply: every resource that passed its checks. */
  readonly state: DesiredState;
  /** Resources that exist but failed a check: left as they are in the database, not pruned. */
  readonly keep: PruneExemptions;
  /** Why each failing resource failed, by `kind/namespace/name`; the others are applied. */
  readonly failures: ReadonlyMap<string, Verdict>;
}

const byAge = (a: Resource, b: Resource): number =>
  (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || resourceKey(a).localeCompare(resourceKey(b));

/** A value only one resource may hold, and how a later claimant fails. */
interface Uniqueness<R extends Resource> {
  readonly valueOf: (r: R) => string | undefined;
  readonly reason: Reason;
  readonly what: string;
}

/** Claims of a unique value: the oldest resource holding it wins, the others fail with `reason`. */
function claim<R extends Resource>(resources: readonly R[], { valueOf, reason, what }: Uniqueness<R>, failures: Map<string, Verdict>): void {
  const owner = new Map<string, R>();
  for (const r of [...resources].sort(byAge)) {
    const v = valueOf(r);
    if (v === undefined || failures.has(resourceKey(r))) continue;
    const first = owner.get(v);
    if (first === undefined) owner.set(v, r);
    else failures.set(resourceKey(r), invalid(reason, `${what} ${v} is already claimed by ${first.kind} ${first.metadata.namespace}/${first.metadata.name}`));
  }
}

/** Unique names and paths (reserved paths are libs/control's check, and the CRD's CEL rule). */
function checkRoots(roots: readonly ResourceOf<'ApiRoot'>[], failures: Map<string, Verdict>): void {
  claim(roots, { valueOf: (r) => r.metadata.name, reason: Reason.NameConflict, what: 'the API root name' }, failures);
  claim(roots, { valueOf: (r) => (r.spec.path ?? r.metadata.name).toLowerCase(), reason: Reason.PathConflict, what: 'the path' }, failures);
}

/** Collections need their ApiRoot (same namespace, itself passing its checks) and unique ids, names and aliases. */
function checkCollections(collections: readonly ResourceOf<'Collection'>[], roots: readonly Resource[], failures: Map<string, Verdict>): void {
  const rootKeys = new Set(roots.filter((r) => !failures.has(resourceKey(r))).map((r) => `${r.metadata.namespace}/${r.metadata.name}`));
  for (const c of collections) {
    if (!rootKeys.has(`${c.metadata.namespace}/${c.spec.apiRoot}`))
      failures.set(resourceKey(c), transient(Reason.ApiRootNotFound, `ApiRoot ${c.metadata.namespace}/${c.spec.apiRoot} does not exist or is not ready`));
  }
  const inRoot = (c: ResourceOf<'Collection'>, v: string | undefined): string | undefined => (v === undefined ? undefined : `${c.spec.apiRoot}/${v}`);
  claim(collections, { valueOf: (c) => c.spec.id, reason: Reason.CollectionConflict, what: 'the collection id' }, failures);
  claim(collections, { valueOf: (c) => inRoot(c, c.metadata.name), reason: Reason.NameConflict, what: 'the collection name in its API root' }, failures);
  claim(collections, { valueOf: (c) => inRoot(c, c.spec.alias), reason: Reason.CollectionConflict, what: 'the alias' }, failures);
}

/** Principals need every Secret (and key) they reference, and unique names. */
function checkPrincipals(principals: readonly ResourceOf<'Principal'>[], secrets: SecretLookup, failures: Map<string, Verdict>): void {
  for (const p of principals) {
    const missing = secretRefs(p).find((ref) => secrets(p.metadata.namespace, ref.name)?.[ref.key ?? ''] === undefined);
    if (missing !== undefined)
      failures.set(resourceKey(p), transient(Reason.SecretNotFound, `Secret ${p.metadata.namespace}/${missing.name} has no key ${missing.key ?? ''}`));
  }
  claim(principals, { valueOf: (r) => r.metadata.name, reason: Reason.NameConflict, what: 'the principal name' }, failures);
}

/** Cross-object checks CEL cannot express (STYLE §3.2 step 4). */
function crossObjectChecks(live: readonly Resource[], secrets: SecretLookup, failures: Map<string, Verdict>): void {
  const roots = live.filter((r) => ofKind(r, 'ApiRoot'));
  checkRoots(roots, failures);
  checkCollections(
    live.filter((r) => ofKind(r, 'Collection')),
    roots,
    failures,
  );
  checkPrincipals(
    live.filter((r) => ofKind(r, 'Principal')),
    secrets,
    failures,
  );
}

/** Every Secret key a Principal references (its password and its API keys), with the CRD's default keys; none for other kinds. */
export function secretRefs(r: Resource): SecretKeyRef[] {
  if (!ofKind(r, 'Principal')) return [];
  const { passwordSecretRef: pw, apiKeys = [] } = r.spec;
  return [
    ...(pw !== undefined ? [{ name: pw.name, key: pw.key ?? 'password' }] : []),
    ...apiKeys.map((k) => ({ name: k.secretRef.name, key: k.secretRef.key ?? 'key' })),
  ];
}

/** A custom resource as libs/control reads it: the same document a configuration file holds, with its namespace. */
function document(r: Resource): ResourceDocument {
  return { apiVersion: r.apiVersion, kind: r.kind, metadata: { name: r.metadata.name, namespace: r.metadata.namespace }, spec: r.spec };
}

/**
 * Whether a problem of libs/control is about resource `r`, the document at `index` of the input: by
 * the resource it names (kind, namespace and name are a resource's key), else by its position;
 * never by matching message text (two Collections of one name in two ApiRoots are two resources).
 */
function isAbout(p: ConfigProblem, r: Resource, index: number): boolean {
  const { kind, namespace, name } = p.ref;
  if (kind !== undefined && namespace !== undefined && name !== undefined) return keyOf(kind, namespace, name) === resourceKey(r);
  return p.ref.index === index;
}

/**
 * Validates the resources that passed the cross-object checks with libs/control; a resource named in a problem fails with InvalidSpec
 * and the rest are validated again without it (a grant naming it is then refused too, unless the
 * principal is known to exist).
 */
function validate(live: readonly Resource[], secrets: SecretLookup, db: StoredPrincipals, failures: Map<string, Verdict>): DesiredState {
  const knownPrincipals = new Set(db.cliManaged);
  const keepKnown = (r: Resource): void => {
    if (r.kind === 'Principal' && db.stored.has(r.metadata.name)) knownPrincipals.add(r.metadata.name);
  };
  for (const r of failedPrincipals(failures, live)) keepKnown(r);
  let candidates = live.filter((r) => !failures.has(resourceKey(r)));
  for (let attempt = 0; attempt <= candidates.length; attempt++) {
    try {
      return toDesiredState(candidates.map(document), { secrets: secretCache(secrets), knownPrincipals });
    } catch (e: unknown) {
      if (!isDomainError(e) || e.code !== 'InvalidConfig') throw e;
      const problems = (e.details?.['structured'] ?? []) as readonly ConfigProblem[];
      const about = (r: Resource, i: number): string[] => problems.filter((p) => isAbout(p, r, i)).map((p) => p.message);
      const culprits = candidates.map((r, i) => ({ r, messages: about(r, i) })).filter((c) => c.messages.length > 0);
      if (culprits.length === 0) throw e;
      for (const { r, messages } of culprits) {
        failures.set(resourceKey(r), invalid(Reason.InvalidSpec, messages.join('; ')));
        keepKnown(r);
      }
      candidates = candidates.filter((r) => !culprits.some((c) => c.r === r));
    }
  }
  return { apiRoots: [], collections: [], principals: [] };
}

/** Principals in the database: all of them, and those the admin CLI manages (never pruned). */
export interface StoredPrincipals {
  readonly stored: ReadonlySet<string>;
  readonly cliManaged: ReadonlySet<string>;
}

function failedPrincipals(failures: ReadonlyMap<string, Verdict>, all: readonly Resource[]): Resource[] {
  return all.filter((r) => r.kind === 'Principal' && failures.has(resourceKey(r)));
}

/**
 * The desired state of everything the cache holds: deleting resources are left out (so the apply
 * prunes them per their deletionPolicy), failing ones are kept as they are, the rest applied.
 * Grants may name CLI-managed principals, and principals that are kept (stored, now failing).
 */
export function desiredFrom(resources: readonly Resource[], secrets: SecretLookup, db: StoredPrincipals): DesiredOutcome {
  const live = resources.filter((r) => !isDeleting(r));
  const failures = new Map<string, Verdict>();
  crossObjectChecks(live, secrets, failures);
  const kept = <K extends Kind>(k: K): ResourceOf<K>[] => live.filter((r): r is ResourceOf<K> => ofKind(r, k) && failures.has(resourceKey(r)));
  const state = validate(live, secrets, db, failures);
  const keep: PruneExemptions = {
    apiRoots: new Set(kept('ApiRoot').map((r) => r.metadata.name)),
    collections: new Set(kept('Collection').map((c) => `${c.spec.apiRoot}/${c.metadata.name}`)),
    principals: new Set(kept('Principal').map((p) => p.metadata.name)),
  };
  return { state, keep, failures };
}
