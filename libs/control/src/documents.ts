import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { hash, verify } from '@node-rs/argon2';
import { parseAllDocuments } from 'yaml';
import {
  apiKeyId,
  DomainError,
  type DesiredApiKey,
  type DesiredApiRoot,
  type DesiredCollection,
  type DesiredPrincipal,
  type DesiredState,
  type RequestRate,
} from '@taxiway/domain';
import { celRule } from './cel';
import { CRD_KINDS, RESERVED_NAMES, ROOT_RULES, SPEC_SCHEMAS, type ApiRootSpec, type CollectionSpec, type PrincipalSpec } from './crd-types.generated';
import { conform, type ConformContext, type Schema } from './schema';
import { envFileSecrets, type SecretReference, type SecretSource } from './secrets';

/**
 * The declarative resources, in the same shape as the Kubernetes custom resources (crds/): a list of
 * `{apiVersion, kind, metadata: {name}, spec}` documents. The local config file holds the same
 * documents, so laptop, CI and cluster share one validation and one apply path. The structural rules
 * (types, patterns, enums, lengths, defaults) and the CEL rules come from the CRDs themselves
 * (crd-types.generated.ts); this module adds what a schema cannot say (references, uniqueness, secrets).
 */
export const API_GROUP = 'taxiway.io';
export const KINDS = CRD_KINDS;
export type Kind = (typeof KINDS)[number];

export interface ResourceDocument {
  readonly apiVersion?: unknown;
  readonly kind?: unknown;
  readonly metadata?: { readonly name?: unknown; readonly namespace?: unknown };
  readonly spec?: unknown;
}

/** Path segments the server itself uses; an API root may not take them (the CRDs' CEL rules list them). */
export const RESERVED_PATHS: ReadonlySet<string> = new Set(RESERVED_NAMES);

/** A resource name (a DNS label): the pattern the CRDs give every field that names a resource. */
const NAME_RE = new RegExp(SPEC_SCHEMAS.Collection.properties.apiRoot.pattern);
export const DEFAULT_MAX_CONTENT_LENGTH = SPEC_SCHEMAS.ApiRoot.properties.maxContentLength.default;
export const DEFAULT_MEDIA_TYPES: readonly string[] = SPEC_SCHEMAS.Collection.properties.mediaTypes.default;

/** A configuration file's reference to a secret: an environment variable or a file. */
export interface LocalSecretRef {
  readonly env?: string;
  readonly file?: string;
}

type CrdApiKey = NonNullable<PrincipalSpec['apiKeys']>[number];

/** An API key of a Principal: the CRD's (`secretRef`), or a configuration file's (`keyFrom`). */
export type PrincipalApiKey = Omit<CrdApiKey, 'secretRef'> & { readonly secretRef?: CrdApiKey['secretRef']; readonly keyFrom?: LocalSecretRef };

/**
 * A Principal's spec as a document may give it: the CRD's, plus what only a configuration file can
 * say (`passwordFrom`, `passwordHash`, `apiKeys[].keyFrom`), since it has no Secrets to refer to.
 */
export interface PrincipalDocumentSpec extends Omit<PrincipalSpec, 'apiKeys'> {
  readonly passwordFrom?: LocalSecretRef;
  readonly passwordHash?: string;
  readonly apiKeys?: readonly PrincipalApiKey[];
}

const LOCAL_REF: Schema = {
  type: 'object',
  properties: { env: { type: 'string', minLength: 1 }, file: { type: 'string', minLength: 1 } },
  rules: [{ rule: 'has(self.env) != has(self.file)', message: 'names exactly one of env or file' }],
};

const CRD_PRINCIPAL: Schema = SPEC_SCHEMAS.Principal;
const CRD_API_KEY: Schema = SPEC_SCHEMAS.Principal.properties.apiKeys.items;

/** The Principal schema of the CRD with the configuration file's additions; an API key has a `secretRef` or a `keyFrom`. */
const PRINCIPAL_DOCUMENT: Schema = {
  ...CRD_PRINCIPAL,
  properties: {
    ...CRD_PRINCIPAL.properties,
    passwordFrom: LOCAL_REF,
    passwordHash: { type: 'string', maxLength: 1000 },
    apiKeys: {
      ...SPEC_SCHEMAS.Principal.properties.apiKeys,
      items: {
        ...CRD_API_KEY,
        required: [],
        properties: { ...CRD_API_KEY.properties, keyFrom: LOCAL_REF },
        rules: [{ rule: 'has(self.secretRef) != has(self.keyFrom)', message: 'an API key names exactly one of secretRef (custom resource) or keyFrom (file)' }],
      },
    },
  },
};

const DOCUMENT_SCHEMAS: Readonly<Record<Kind, Schema>> = { ApiRoot: SPEC_SCHEMAS.ApiRoot, Collection: SPEC_SCHEMAS.Collection, Principal: PRINCIPAL_DOCUMENT };

export interface ParseOptions {
  /**
   * Where `passwordFrom`/`keyFrom` and Secret references are read. Default: `envFileSecrets` over
   * `env` and `baseDir`.
   */
  readonly secrets?: SecretSource;
  /** Environment for `passwordFrom.env` when `secrets` is not given. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Directory relative `passwordFrom.file` paths are resolved against when `secrets` is not given. */
  readonly baseDir?: string;
  /**
   * Principals that exist although these documents do not define them (created with the CLI, or
   * defined by a resource that is temporarily invalid): grants may name them.
   */
  readonly knownPrincipals?: ReadonlySet<string>;
}

/**
 * What a configuration problem is about, so a caller can attribute it without reading its text: the
 * resource (kind, namespace when the document has one, ApiRoot for a Collection, name) as far as
 * the document says, and its position in the input.
 */
export interface ProblemRef {
  readonly index: number;
  readonly kind?: Kind;
  readonly namespace?: string;
  readonly apiRoot?: string;
  readonly name?: string;
}

/** One problem of a configuration: what it is about, the field (`spec.grants[2].principal`), and the message for humans (which names both). */
export interface ConfigProblem {
  readonly ref: ProblemRef;
  readonly path: string;
  readonly message: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isKind = (v: unknown): v is Kind => typeof v === 'string' && (KINDS as readonly string[]).includes(v);

/** A document, where its problems are reported, and (once its header checked out) its kind, name and spec. */
class SpecDocument {
  constructor(
    readonly ref: ProblemRef,
    /** The label messages name it by. */
    readonly where: string,
    private readonly sink: ConfigProblem[],
  ) {}

  get name(): string {
    return this.ref.name ?? '';
  }

  problem(path: string, what: string): void {
    this.sink.push({ ref: this.ref, path, message: `${this.where}: ${what}` });
  }

  /** `spec` checked against its kind's schema (with the schema's defaults), and the resource's CEL rules checked. */
  conform(kind: Kind, raw: Obj): unknown {
    const ctx: ConformContext = { report: (f) => this.problem(f.path, f.message), rule: celRule };
    const spec = (conform(DOCUMENT_SCHEMAS[kind], raw, 'spec', ctx) ?? {}) as Obj;
    for (const r of ROOT_RULES[kind]) {
      if (celRule(r.rule)?.({ metadata: { name: this.name }, spec }) === false) this.problem('metadata.name', `metadata.name: ${r.message}`);
    }
    return spec;
  }

  /** A grant's holder; `known` are the principals it may name. Exactly one of the two is the CRD's rule, checked already. */
  holder(known: ReadonlySet<string>, g: { readonly principal?: string; readonly group?: string }, path: string): { principal: string } | { group: string } {
    if (g.group !== undefined) return { group: g.group };
    if (g.principal !== undefined && !known.has(g.principal))
      this.problem(`${path}.principal`, `${path} names unknown principal ${JSON.stringify(g.principal)}`);
    return { principal: g.principal ?? '' };
  }
}

export function parseDocumentsYaml(text: string): ResourceDocument[] {
  const docs = parseAllDocuments(text);
  const out: ResourceDocument[] = [];
  for (const d of docs) {
    if (d.errors.length > 0) throw new DomainError('InvalidConfig', `YAML error: ${d.errors[0]?.message ?? 'unknown'}`);
    const v: unknown = d.toJS();
    if (v === null || v === undefined) continue;
    if (!isObj(v)) throw new DomainError('InvalidConfig', 'every YAML document must be a mapping');
    out.push(v);
  }
  return out;
}

/** A value built from a document, with the document (where problems about the value go). */
interface Built<T> {
  readonly doc: SpecDocument;
  readonly value: T;
}

/**
 * Validates documents into a DesiredState; every problem is reported at once (InvalidConfig, with
 * `details.problems` the messages and `details.structured` the ConfigProblems).
 */
export function toDesiredState(docs: readonly ResourceDocument[], opts: ParseOptions = {}): DesiredState {
  const sink: ConfigProblem[] = [];
  const byKind = sortByKind(docs, sink);
  const secrets =
    opts.secrets ?? envFileSecrets({ ...(opts.env !== undefined && { env: opts.env }), ...(opts.baseDir !== undefined && { baseDir: opts.baseDir }) });
  const principals = byKind.Principal.map(({ doc, spec }) => ({ doc, value: principal(doc, spec as PrincipalDocumentSpec, secrets) }));
  const principalNames = new Set([...uniqueNames(principals), ...(opts.knownPrincipals ?? [])]);
  const apiRoots = byKind.ApiRoot.map(({ doc, spec }) => ({ doc, value: apiRoot(doc, spec as ApiRootSpec, principalNames) }));
  const rootNames = uniqueRoots(apiRoots);
  const collections = byKind.Collection.map(({ doc, spec }) => ({
    doc,
    value: collection(doc, spec as CollectionSpec, { apiRoots: rootNames, principals: principalNames }),
  }));
  checkUniqueCollections(collections);
  if (sink.length > 0) {
    const messages = sink.map((p) => p.message);
    throw new DomainError('InvalidConfig', `invalid configuration:\n  - ${messages.join('\n  - ')}`, { problems: messages, structured: sink });
  }
  const values = <T>(built: readonly Built<T>[]): T[] => built.map((b) => b.value);
  return { apiRoots: values(apiRoots), collections: values(collections), principals: values(principals) };
}

/** Files each document under its kind once its header (apiVersion, kind, metadata.name, spec) checks out, its spec conformed. */
function sortByKind(docs: readonly ResourceDocument[], sink: ConfigProblem[]): Record<Kind, { doc: SpecDocument; spec: unknown }[]> {
  const byKind: Record<Kind, { doc: SpecDocument; spec: unknown }[]> = { ApiRoot: [], Collection: [], Principal: [] };
  docs.forEach((d, i) => {
    const doc = new SpecDocument(refOf(d, i), documentLabel(d, i), sink);
    if (checkHeader(d, doc) && isKind(d.kind) && isObj(d.spec ?? {})) byKind[d.kind].push({ doc, spec: doc.conform(d.kind, (d.spec ?? {}) as Obj) });
  });
  return byKind;
}

const stringOr = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function refOf(d: ResourceDocument, index: number): ProblemRef {
  const name = stringOr(d.metadata?.name);
  const namespace = stringOr(d.metadata?.namespace);
  const apiRoot = d.kind === 'Collection' && isObj(d.spec) ? stringOr(d.spec['apiRoot']) : undefined;
  return {
    index,
    ...(isKind(d.kind) && { kind: d.kind }),
    ...(namespace !== undefined && { namespace }),
    ...(apiRoot !== undefined && { apiRoot }),
    ...(name !== undefined && { name }),
  };
}

/** `Kind/namespace/name` for a document that has a namespace (a custom resource), else `document N (Kind/name)`, for messages. */
function documentLabel(d: ResourceDocument, i: number): string {
  const kind = stringOr(d.kind) ?? '?';
  const name = stringOr(d.metadata?.name) ?? '?';
  const namespace = stringOr(d.metadata?.namespace);
  return namespace !== undefined ? `${kind}/${namespace}/${name}` : `document ${i + 1} (${kind}/${name})`;
}

function checkHeader(d: ResourceDocument, doc: SpecDocument): boolean {
  const name = d.metadata?.name;
  if (typeof d.apiVersion === 'string' && !d.apiVersion.startsWith(`${API_GROUP}/`)) doc.problem('apiVersion', `apiVersion must be ${API_GROUP}/v1alpha1`);
  if (!isKind(d.kind)) doc.problem('kind', `kind must be one of ${KINDS.join(', ')}`);
  else if (typeof name !== 'string' || !NAME_RE.test(name)) doc.problem('metadata.name', 'metadata.name must be a DNS label (a-z, 0-9, -; at most 63)');
  else if (!isObj(d.spec ?? {})) doc.problem('spec', 'spec must be a mapping');
  else return true;
  return false;
}

/** Adds `key` to `taken`; true if it was taken already. */
function isTaken(taken: Set<string>, key: string): boolean {
  const had = taken.has(key);
  taken.add(key);
  return had;
}

function uniqueNames(principals: readonly Built<DesiredPrincipal>[]): Set<string> {
  const names = new Set<string>();
  for (const { doc, value } of principals) if (isTaken(names, value.name)) doc.problem('metadata.name', `Principal ${value.name} is defined twice`);
  return names;
}

function uniqueRoots(apiRoots: readonly Built<DesiredApiRoot>[]): Set<string> {
  const names = new Set<string>();
  const paths = new Set<string>();
  for (const { doc, value: r } of apiRoots) {
    if (isTaken(names, r.name)) doc.problem('metadata.name', `ApiRoot ${r.name} is defined twice`);
    if (isTaken(paths, r.path.toLowerCase())) doc.problem('spec.path', `path ${r.path} is used by another ApiRoot`);
  }
  return names;
}

function checkUniqueCollections(collections: readonly Built<DesiredCollection>[]): void {
  const keys = new Set<string>();
  const aliases = new Set<string>();
  const ids = new Set<string>();
  for (const { doc, value: c } of collections) {
    if (isTaken(keys, `${c.apiRoot}/${c.name}`)) doc.problem('metadata.name', `Collection ${c.name} is defined twice in ApiRoot ${c.apiRoot}`);
    if (c.alias !== undefined && isTaken(aliases, `${c.apiRoot}/${c.alias}`))
      doc.problem('spec.alias', `alias ${c.alias} is used twice in ApiRoot ${c.apiRoot}`);
    if (c.id !== undefined && isTaken(ids, c.id)) doc.problem('spec.id', `id ${c.id} is used twice`);
  }
}

/*
 * The builders below read a conformed spec: every value present has its schema's type, defaults are
 * filled in, and a value that failed its checks is absent (reported already, so the fallbacks for
 * such values are never applied).
 */

function apiRoot(d: SpecDocument, spec: ApiRootSpec, principals: ReadonlySet<string>): DesiredApiRoot {
  return {
    name: d.name,
    path: spec.path ?? d.name,
    title: spec.title ?? d.name,
    description: spec.description,
    maxContentLength: spec.maxContentLength ?? DEFAULT_MAX_CONTENT_LENGTH,
    deletionPolicy: spec.deletionPolicy ?? 'Retain',
    grants: (spec.grants ?? []).map((g, i) => ({ ...d.holder(principals, g, `spec.grants[${i}]`), role: g.role })),
  };
}

/** Names defined elsewhere in the same configuration that a Collection may refer to. */
interface CollectionRefs {
  readonly apiRoots: ReadonlySet<string>;
  readonly principals: ReadonlySet<string>;
}

function collection(d: SpecDocument, spec: CollectionSpec, refs: CollectionRefs): DesiredCollection {
  if (spec.apiRoot !== undefined && !refs.apiRoots.has(spec.apiRoot))
    d.problem('spec.apiRoot', `spec.apiRoot must name an ApiRoot defined in the same configuration (got ${JSON.stringify(spec.apiRoot)})`);
  const grants = (spec.grants ?? []).map((g, i) => ({ ...d.holder(refs.principals, g, `spec.grants[${i}]`), read: g.read, write: g.write }));
  return {
    name: d.name,
    apiRoot: spec.apiRoot ?? '',
    id: spec.id,
    alias: spec.alias,
    title: spec.title ?? d.name,
    description: spec.description,
    mediaTypes: (spec.mediaTypes ?? DEFAULT_MEDIA_TYPES).map((m) => m.replace(/;\s+/, ';')),
    deletionPolicy: spec.deletionPolicy ?? 'Retain',
    maxObjects: spec.quota?.maxObjects,
    grants,
  };
}

function principal(d: SpecDocument, spec: PrincipalDocumentSpec, secrets: SecretSource): DesiredPrincipal {
  const plain = password(d, spec, secrets);
  const rateLimit = requestRate(spec.rateLimit);
  return {
    name: d.name,
    displayName: spec.displayName,
    passwordHash: hashProducer(spec.passwordHash, plain),
    disabled: spec.disabled ?? false,
    groups: [...new Set(spec.groups ?? [])].sort(),
    apiKeys: apiKeys(d, spec, secrets),
    ...(rateLimit !== undefined && { rateLimit }),
  };
}

/** The plain-text password a Principal references (`passwordFrom` or `passwordSecretRef`), if any; checks `passwordHash`. */
function password(d: SpecDocument, spec: PrincipalDocumentSpec, secrets: SecretSource): string | undefined {
  if ((spec as Obj)['password'] !== undefined)
    d.problem('spec.password', 'plain-text spec.password is not allowed; use passwordFrom (env or file), passwordSecretRef or passwordHash');
  if (spec.passwordHash !== undefined && !spec.passwordHash.startsWith('$argon2id$'))
    d.problem('spec.passwordHash', 'spec.passwordHash must be an argon2id PHC string');
  const given = [spec.passwordHash, spec.passwordFrom, spec.passwordSecretRef].filter((v) => v !== undefined).length;
  if (given > 1) d.problem('spec', 'give one of passwordHash, passwordFrom or passwordSecretRef');
  if (spec.passwordFrom !== undefined) return readSecret(d, secrets, localRef(spec.passwordFrom), 'spec.passwordFrom');
  const ref = spec.passwordSecretRef;
  if (ref !== undefined) return readSecret(d, secrets, { secret: ref.name, key: ref.key ?? 'password', namespace: d.ref.namespace }, 'spec.passwordSecretRef');
  return undefined;
}

const localRef = (ref: LocalSecretRef): SecretReference => (ref.env !== undefined ? { env: ref.env } : { file: ref.file ?? '' });

/** The value of a secret reference; a problem at `path` if it cannot be read. */
function readSecret(d: SpecDocument, secrets: SecretSource, ref: SecretReference, path: string): string | undefined {
  const r = secrets.read(ref);
  if ('value' in r) return r.value;
  d.problem(path, `${path}: ${r.problem}`);
  return undefined;
}

/** `spec.rateLimit: {requestsPerSecond, burst?}`; burst defaults to one second's worth. */
function requestRate(r: PrincipalSpec['rateLimit']): RequestRate | undefined {
  if (r?.requestsPerSecond === undefined) return undefined;
  return { perSecond: r.requestsPerSecond, burst: r.burst ?? Math.max(1, Math.ceil(r.requestsPerSecond)) };
}

/**
 * `spec.apiKeys`: keys made with `taxiway key generate` and kept in a Secret (`secretRef`) or, in a
 * configuration file, in an environment variable or a file (`keyFrom`), with an optional `name`
 * and `expiresAt`. Only their hashes are stored.
 */
function apiKeys(d: SpecDocument, spec: PrincipalDocumentSpec, secrets: SecretSource): DesiredApiKey[] {
  const raw = (spec as Obj)['apiKeys'];
  if (Array.isArray(raw))
    raw.forEach((k, i) => {
      if (isObj(k) && k['key'] !== undefined)
        d.problem(`spec.apiKeys[${i}].key`, `plain-text spec.apiKeys[${i}].key is not allowed; use keyFrom (env or file) or secretRef`);
    });
  const keys = (spec.apiKeys ?? []).map((k, i) => apiKey(d, k, `spec.apiKeys[${i}]`, secrets)).filter((k): k is DesiredApiKey => k !== undefined);
  const ids = keys.map((k) => k.id);
  if (new Set(ids).size !== ids.length) d.problem('spec.apiKeys', 'spec.apiKeys lists the same key twice');
  return keys;
}

function apiKey(d: SpecDocument, k: PrincipalApiKey, path: string, secrets: SecretSource): DesiredApiKey | undefined {
  const value = keyValue(d, k, path, secrets);
  if (value === undefined) return undefined;
  const id = apiKeyId(value);
  if (id === undefined) {
    d.problem(path, `${path} does not hold a Taxiway API key (txw_<id>_<secret>; make one with taxiway key generate)`);
    return undefined;
  }
  return { id, name: k.name, expiresAt: k.expiresAt === undefined ? undefined : new Date(k.expiresAt), secretHash: hashOf(value) };
}

function keyValue(d: SpecDocument, k: PrincipalApiKey, path: string, secrets: SecretSource): string | undefined {
  if (k.keyFrom !== undefined) return readSecret(d, secrets, localRef(k.keyFrom), `${path}.keyFrom`);
  if (k.secretRef !== undefined)
    return readSecret(d, secrets, { secret: k.secretRef.name, key: k.secretRef.key ?? 'key', namespace: d.ref.namespace }, `${path}.secretRef`);
  return undefined;
}

/** Hashes `secret` at apply time, keeping a stored hash that still matches it (idempotent re-apply). */
function hashOf(secret: string): (stored: string | undefined) => Promise<string> {
  return async (stored) => {
    if (stored !== undefined && (await verify(stored, secret).catch(() => false))) return stored;
    return hash(secret, { algorithm: 2 /* Argon2id */ });
  };
}

/** The hash to store at apply time: a configured PHC string as is, or the plain password hashed (keeping a stored hash that still matches). */
function hashProducer(phc: string | undefined, plain: string | undefined): DesiredPrincipal['passwordHash'] {
  if (phc !== undefined) return () => Promise.resolve(phc);
  if (plain === undefined) return undefined;
  return hashOf(plain);
}

/**
 * Reads and validates a configuration file. `secrets` defaults to environment variables (`env`,
 * default process.env) and files relative to the configuration file.
 */
export function loadDesiredStateFile(path: string, env: Readonly<Record<string, string | undefined>> = process.env, secrets?: SecretSource): DesiredState {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new DomainError('InvalidConfig', `cannot read configuration file ${path}: ${(e as Error).message}`);
  }
  return toDesiredState(parseDocumentsYaml(text), { secrets: secrets ?? envFileSecrets({ env, baseDir: dirname(resolve(path)) }) });
}
