import { toDesiredState, type ConfigProblem, type ResourceDocument } from '@taxiway/control';
import { isDomainError, type DesiredState, type PruneExemptions } from '@taxiway/domain';
import { isDeleting, resourceKey, type Kind, type Resource, type SecretKeyRef } from './resources';
import { invalid, Reason, transient, type Verdict } from './status';

/** The data of a Secret (decoded), or undefined if there is no such Secret. */
export type SecretLookup = (namespace: string, name: string) => Readonly<Record<string, string>> | undefined;

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

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** A value only one resource may hold, and how a later claimant fails. */
interface Uniqueness {
  readonly valueOf: (r: Resource) => string | undefined;
  readonly reason: Reason;
  readonly what: string;
}

/** Claims of a unique value: the oldest resource holding it wins, the others fail with `reason`. */
function claim(resources: readonly Resource[], { valueOf, reason, what }: Uniqueness, failures: Map<string, Verdict>): void {
  const owner = new Map<string, Resource>();
  for (const r of [...resources].sort(byAge)) {
    const v = valueOf(r);
    if (v === undefined || failures.has(resourceKey(r))) continue;
    const first = owner.get(v);
    if (first === undefined) owner.set(v, r);
    else failures.set(resourceKey(r), invalid(reason, `${what} ${v} is already claimed by ${first.kind} ${first.metadata.namespace}/${first.metadata.name}`));
  }
}

/** Unique names and paths (reserved paths are libs/control's check, and the CRD's CEL rule). */
function checkRoots(roots: readonly Resource[], failures: Map<string, Verdict>): void {
  claim(roots, { valueOf: (r) => r.metadata.name, reason: Reason.NameConflict, what: 'the API root name' }, failures);
  claim(roots, { valueOf: (r) => (str(r.spec['path']) ?? r.metadata.name).toLowerCase(), reason: Reason.PathConflict, what: 'the path' }, failures);
}

/** Collections need their ApiRoot (same namespace, itself passing its checks) and unique ids, names and aliases. */
function checkCollections(collections: readonly Resource[], roots: readonly Resource[], failures: Map<string, Verdict>): void {
  const rootKeys = new Set(roots.filter((r) => !failures.has(resourceKey(r))).map((r) => `${r.metadata.namespace}/${r.metadata.name}`));
  for (const c of collections) {
    const root = str(c.spec['apiRoot']) ?? '';
    if (!rootKeys.has(`${c.metadata.namespace}/${root}`))
      failures.set(resourceKey(c), transient(Reason.ApiRootNotFound, `ApiRoot ${c.metadata.namespace}/${root} does not exist or is not ready`));
  }
  const inRoot = (c: Resource, v: string | undefined): string | undefined => (v === undefined ? undefined : `${str(c.spec['apiRoot']) ?? ''}/${v}`);
  claim(collections, { valueOf: (c) => str(c.spec['id']), reason: Reason.CollectionConflict, what: 'the collection id' }, failures);
  claim(collections, { valueOf: (c) => inRoot(c, c.metadata.name), reason: Reason.NameConflict, what: 'the collection name in its API root' }, failures);
  claim(collections, { valueOf: (c) => inRoot(c, str(c.spec['alias'])), reason: Reason.CollectionConflict, what: 'the alias' }, failures);
}

/** Principals need every Secret (and key) they reference, and unique names. */
function checkPrincipals(principals: readonly Resource[], secrets: SecretLookup, failures: Map<string, Verdict>): void {
  for (const p of principals) {
    const missing = secretRefs(p).find((ref) => secrets(p.metadata.namespace, ref.name)?.[ref.key ?? ''] === undefined);
    if (missing !== undefined)
      failures.set(resourceKey(p), transient(Reason.SecretNotFound, `Secret ${p.metadata.namespace}/${missing.name} has no key ${missing.key ?? ''}`));
  }
  claim(principals, { valueOf: (r) => r.metadata.name, reason: Reason.NameConflict, what: 'the principal name' }, failures);
}

/** Cross-object checks CEL cannot express (STYLE §3.2 step 4). */
function crossObjectChecks(live: readonly Resource[], secrets: SecretLookup, failures: Map<string, Verdict>): void {
  const of = (k: Kind) => live.filter((r) => r.kind === k);
  checkRoots(of('ApiRoot'), failures);
  checkCollections(of('Collection'), of('ApiRoot'), failures);
  checkPrincipals(of('Principal'), secrets, failures);
}

/** Every Secret key a Principal references (its password and its API keys), with the CRD's default keys. */
export function secretRefs(p: Resource): SecretKeyRef[] {
  const refs: SecretKeyRef[] = [];
  const pw = p.spec['passwordSecretRef'] as SecretKeyRef | undefined;
  if (pw !== undefined) refs.push({ name: pw.name, key: pw.key ?? 'password' });
  for (const k of (p.spec['apiKeys'] ?? []) as { secretRef: SecretKeyRef }[]) refs.push({ name: k.secretRef.name, key: k.secretRef.key ?? 'key' });
  return refs;
}

/** Turns a Principal's Secret references into the `passwordFrom`/`keyFrom` env references libs/control reads. */
function principalDocument(p: Resource, secrets: SecretLookup, env: Record<string, string>): ResourceDocument {
  const { passwordSecretRef, apiKeys, ...rest } = p.spec as {
    passwordSecretRef?: SecretKeyRef;
    apiKeys?: { name?: string; expiresAt?: string; secretRef: SecretKeyRef }[];
  };
  const read = (ref: SecretKeyRef, dflt: string): { env: string } => {
    const name = `SECRET_${Object.keys(env).length}`;
    env[name] = secrets(p.metadata.namespace, ref.name)?.[ref.key ?? dflt] ?? '';
    return { env: name };
  };
  const spec: Record<string, unknown> = { ...rest };
  if (passwordSecretRef !== undefined) spec['passwordFrom'] = read(passwordSecretRef, 'password');
  if (apiKeys !== undefined) spec['apiKeys'] = apiKeys.map((k) => ({ name: k.name, expiresAt: k.expiresAt, keyFrom: read(k.secretRef, 'key') }));
  return { apiVersion: p.apiVersion, kind: p.kind, metadata: { name: p.metadata.name }, spec };
}

function document(r: Resource, secrets: SecretLookup, env: Record<string, string>): ResourceDocument {
  if (r.kind === 'Principal') return principalDocument(r, secrets, env);
  const { hostnames: _hostnames, ...spec } = r.spec;
  return { apiVersion: r.apiVersion, kind: r.kind, metadata: { name: r.metadata.name }, spec };
}

/**
 * Whether a problem of libs/control is about resource `r`, the document at `index` of the input: by
 * that position when the problem names one, else by kind and name (and ApiRoot for a Collection),
 * never by matching message text (two Collections of one name in two ApiRoots are two resources).
 */
function isAbout(p: ConfigProblem, r: Resource, index: number): boolean {
  if (p.ref.index !== undefined) return p.ref.index === index;
  if (p.ref.kind !== r.kind || p.ref.name !== r.metadata.name) return false;
  return r.kind !== 'Collection' || p.ref.apiRoot === str(r.spec['apiRoot']);
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
    const env: Record<string, string> = {};
    const docs = candidates.map((r) => document(r, secrets, env));
    try {
      return toDesiredState(docs, { env, knownPrincipals });
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
  const kept = (k: Kind) => live.filter((r) => r.kind === k && failures.has(resourceKey(r)));
  const state = validate(live, secrets, db, failures);
  const keep: PruneExemptions = {
    apiRoots: new Set(kept('ApiRoot').map((r) => r.metadata.name)),
    collections: new Set(kept('Collection').map((c) => `${str(c.spec['apiRoot']) ?? ''}/${c.metadata.name}`)),
    principals: new Set(kept('Principal').map((p) => p.metadata.name)),
  };
  return { state, keep, failures };
}
