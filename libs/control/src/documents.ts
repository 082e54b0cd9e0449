import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { hash, verify } from '@node-rs/argon2';
import { parseAllDocuments } from 'yaml';
import {
  apiKeyId,
  DomainError,
  type DeletionPolicy,
  type DesiredApiKey,
  type DesiredApiRoot,
  type DesiredCollection,
  type DesiredPrincipal,
  type DesiredState,
  type RequestRate,
  type Role,
} from '@taxiway/domain';

/**
 * The declarative resources, in the same shape as the Kubernetes custom resources (crds/): a list of
 * `{apiVersion, kind, metadata: {name}, spec}` documents. The local config file holds the same
 * documents, so laptop, CI and cluster share one validation and one apply path.
 */
export const API_GROUP = 'taxiway.io';
export const KINDS = ['ApiRoot', 'Collection', 'Principal'] as const;
export type Kind = (typeof KINDS)[number];

export interface ResourceDocument {
  readonly apiVersion?: unknown;
  readonly kind?: unknown;
  readonly metadata?: { readonly name?: unknown; readonly namespace?: unknown };
  readonly spec?: unknown;
}

/** Path segments the server itself uses; an API root may not take them. */
export const RESERVED_PATHS: ReadonlySet<string> = new Set([
  'taxii2',
  'taxii',
  'taxii1',
  'healthz',
  'readyz',
  'livez',
  'metrics',
  'management',
  'services',
  'status',
  'admin',
  'api',
]);

const NAME_RE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const PATH_RE = /^[A-Za-z0-9][A-Za-z0-9._~-]{0,62}$/;
const UUID4_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const UUID_ANY_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
export const DEFAULT_MAX_CONTENT_LENGTH = 104_857_600;
export const DEFAULT_MEDIA_TYPES = ['application/stix+json;version=2.1'];

export interface ParseOptions {
  /** Environment for `passwordFrom.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Directory relative `passwordFrom.file` paths are resolved against. */
  readonly baseDir?: string;
  /**
   * Principals that exist although these documents do not define them (created with the CLI, or
   * defined by a resource that is temporarily invalid): grants may name them.
   */
  readonly knownPrincipals?: ReadonlySet<string>;
}

/**
 * What a configuration problem is about, so a caller can attribute it without reading its text:
 * the document's position in the input when one document is at fault, else the kind and name (and
 * for a Collection its ApiRoot) of the resource it names.
 */
export interface ProblemRef {
  readonly index?: number;
  readonly kind?: string;
  readonly name?: string;
  readonly apiRoot?: string;
}

/** One problem of a configuration: what it is about, and the message (which names it too). */
export interface ConfigProblem {
  readonly ref: ProblemRef;
  readonly message: string;
}

class Problems {
  readonly list: ConfigProblem[] = [];
  add(where: string, what: string, ref: ProblemRef): void {
    this.list.push({ ref, message: `${where}: ${what}` });
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isKind = (v: unknown): v is Kind => typeof v === 'string' && (KINDS as readonly string[]).includes(v);

/** A document whose header checked out: its name and spec, and where its problems are reported. */
class SpecDocument {
  constructor(
    readonly name: string,
    readonly spec: Obj,
    /** Where its problems are reported: the label messages name it by, and what they are about. */
    private readonly at: { readonly where: string; readonly ref: ProblemRef },
    private readonly pr: Problems,
  ) {}

  get where(): string {
    return this.at.where;
  }

  problem(what: string): void {
    this.pr.add(this.at.where, what, this.at.ref);
  }

  /** `spec[key]` if it is a string of at most `max` characters; undefined when absent or (reported) invalid. */
  optString(key: string, max = 10_000): string | undefined {
    const v = this.spec[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string' || v.length > max) {
      this.problem(`spec.${key} must be a string of at most ${max} characters`);
      return undefined;
    }
    return v;
  }

  deletionPolicy(): DeletionPolicy {
    const v = this.spec['deletionPolicy'] ?? 'Retain';
    if (v !== 'Retain' && v !== 'Delete') this.problem('spec.deletionPolicy must be Retain or Delete');
    return v === 'Delete' ? 'Delete' : 'Retain';
  }

  grants(): Obj[] {
    const g = this.spec['grants'];
    if (g === undefined || g === null) return [];
    if (!Array.isArray(g) || !g.every(isObj)) {
      this.problem('spec.grants must be a list of objects');
      return [];
    }
    return g;
  }

  /** A grant's holder: a principal the configuration defines, or a group (exactly one of the two). */
  holder(known: ReadonlySet<string>, g: Obj): { principal: string } | { group: string } {
    const principal = g['principal'];
    const group = g['group'];
    if ((principal === undefined) === (group === undefined)) {
      this.problem('a grant names exactly one of principal or group');
      return { principal: '' };
    }
    if (group !== undefined) {
      if (typeof group !== 'string' || !NAME_RE.test(group)) this.problem(`grant names a malformed group ${JSON.stringify(group)}`);
      return { group: typeof group === 'string' ? group : '' };
    }
    if (typeof principal !== 'string' || !known.has(principal)) this.problem(`grant names unknown principal ${JSON.stringify(principal)}`);
    return { principal: typeof principal === 'string' ? principal : '' };
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

/** Validates documents into a DesiredState; every problem is reported at once (InvalidConfig). */
export function toDesiredState(docs: readonly ResourceDocument[], opts: ParseOptions = {}): DesiredState {
  const pr = new Problems();
  const byKind = sortByKind(docs, pr);
  const principals = byKind.Principal.map((d) => principal(d, opts));
  const principalNames = new Set([...uniquePrincipalNames(principals, pr), ...(opts.knownPrincipals ?? [])]);
  const apiRoots = byKind.ApiRoot.map((d) => apiRoot(d, principalNames));
  const rootNames = uniqueRootNames(apiRoots, pr);
  const collections = byKind.Collection.map((d) => collection(d, { apiRoots: rootNames, principals: principalNames }));
  checkUniqueCollections(collections, pr);
  if (pr.list.length > 0) {
    const messages = pr.list.map((p) => p.message);
    throw new DomainError('InvalidConfig', `invalid configuration:\n  - ${messages.join('\n  - ')}`, { problems: messages, structured: pr.list });
  }
  return { apiRoots, collections, principals };
}

/** Files each document under its kind once its header (apiVersion, kind, metadata.name, spec) checks out. */
function sortByKind(docs: readonly ResourceDocument[], pr: Problems): Record<Kind, SpecDocument[]> {
  const byKind: Record<Kind, SpecDocument[]> = { ApiRoot: [], Collection: [], Principal: [] };
  docs.forEach((d, i) => {
    const checked = checkHeader(d, { label: documentLabel(d, i), index: i }, pr);
    if (checked !== undefined) byKind[checked.kind].push(checked.doc);
  });
  return byKind;
}

/** `document N (Kind/name)` as far as the document says, for messages. */
function documentLabel(d: ResourceDocument, i: number): string {
  const kind = d.kind;
  const name = d.metadata?.name;
  return `document ${i + 1} (${typeof kind === 'string' ? kind : '?'}/${typeof name === 'string' ? name : '?'})`;
}

function checkHeader(d: ResourceDocument, at: { label: string; index: number }, pr: Problems): { kind: Kind; doc: SpecDocument } | undefined {
  const name = d.metadata?.name;
  const spec = d.spec ?? {};
  const where = at.label;
  const ref: ProblemRef = { index: at.index };
  if (typeof d.apiVersion === 'string' && !d.apiVersion.startsWith(`${API_GROUP}/`)) pr.add(where, `apiVersion must be ${API_GROUP}/v1alpha1`, ref);
  if (!isKind(d.kind)) pr.add(where, `kind must be one of ${KINDS.join(', ')}`, ref);
  else if (typeof name !== 'string' || !NAME_RE.test(name)) pr.add(where, 'metadata.name must be a DNS label (a-z, 0-9, -; at most 63)', ref);
  else if (!isObj(spec)) pr.add(where, 'spec must be a mapping', ref);
  else return { kind: d.kind, doc: new SpecDocument(name, spec, { where, ref: { ...ref, kind: d.kind, name } }, pr) };
  return undefined;
}

/** Adds `key` to `taken`; true if it was taken already. */
function isTaken(taken: Set<string>, key: string): boolean {
  const had = taken.has(key);
  taken.add(key);
  return had;
}

function uniquePrincipalNames(principals: readonly DesiredPrincipal[], pr: Problems): Set<string> {
  const names = new Set<string>();
  for (const p of principals) if (isTaken(names, p.name)) pr.add(`Principal/${p.name}`, 'defined twice', { kind: 'Principal', name: p.name });
  return names;
}

function uniqueRootNames(apiRoots: readonly DesiredApiRoot[], pr: Problems): Set<string> {
  const names = new Set<string>();
  const paths = new Set<string>();
  for (const r of apiRoots) {
    const ref: ProblemRef = { kind: 'ApiRoot', name: r.name };
    if (isTaken(names, r.name)) pr.add(`ApiRoot/${r.name}`, 'defined twice', ref);
    if (isTaken(paths, r.path.toLowerCase())) pr.add(`ApiRoot/${r.name}`, `path ${r.path} is used by another ApiRoot`, ref);
  }
  return names;
}

function checkUniqueCollections(collections: readonly DesiredCollection[], pr: Problems): void {
  const keys = new Set<string>();
  const aliases = new Set<string>();
  const ids = new Set<string>();
  for (const c of collections) {
    const where = `Collection/${c.apiRoot}/${c.name}`;
    const ref: ProblemRef = { kind: 'Collection', name: c.name, apiRoot: c.apiRoot };
    if (isTaken(keys, `${c.apiRoot}/${c.name}`)) pr.add(where, `defined twice in ApiRoot ${c.apiRoot}`, ref);
    if (c.alias !== undefined && isTaken(aliases, `${c.apiRoot}/${c.alias}`)) pr.add(where, `alias ${c.alias} is used twice in ApiRoot ${c.apiRoot}`, ref);
    if (c.id !== undefined && isTaken(ids, c.id)) pr.add(where, `id ${c.id} is used twice`, ref);
  }
}

function apiRoot(d: SpecDocument, principals: ReadonlySet<string>): DesiredApiRoot {
  const path = rootPath(d);
  const title = d.optString('title', 1000) ?? d.name;
  const maxContentLength = positiveMaxContentLength(d);
  const grants = d.grants().map((g) => {
    const role = g['role'];
    if (role !== 'read' && role !== 'write' && role !== 'admin') d.problem('grant role must be read, write or admin');
    return { ...d.holder(principals, g), role: (role as Role) ?? 'read' };
  });
  return { name: d.name, path, title, description: d.optString('description'), maxContentLength, deletionPolicy: d.deletionPolicy(), grants };
}

function rootPath(d: SpecDocument): string {
  const path = d.optString('path') ?? d.name;
  if (!PATH_RE.test(path)) d.problem('spec.path must be one URL-safe segment (A-Z a-z 0-9 . _ ~ -)');
  if (RESERVED_PATHS.has(path.toLowerCase())) d.problem(`spec.path ${path} is reserved`);
  return path;
}

function positiveMaxContentLength(d: SpecDocument): number {
  const mcl = d.spec['maxContentLength'] ?? DEFAULT_MAX_CONTENT_LENGTH;
  if (typeof mcl !== 'number' || !Number.isSafeInteger(mcl) || mcl <= 0) d.problem('spec.maxContentLength must be a positive integer');
  return typeof mcl === 'number' ? mcl : 0;
}

/** Names defined elsewhere in the same configuration that a Collection may refer to. */
interface CollectionRefs {
  readonly apiRoots: ReadonlySet<string>;
  readonly principals: ReadonlySet<string>;
}

function collection(d: SpecDocument, refs: CollectionRefs): DesiredCollection {
  const apiRoot = apiRootRef(d, refs.apiRoots);
  const id = collectionId(d);
  const alias = collectionAlias(d);
  const mediaTypes = stixMediaTypes(d);
  const grants = d.grants().map((g) => {
    if ((g['read'] !== undefined && typeof g['read'] !== 'boolean') || (g['write'] !== undefined && typeof g['write'] !== 'boolean'))
      d.problem('grant read/write must be booleans');
    return { ...d.holder(refs.principals, g), read: g['read'] as boolean | undefined, write: g['write'] as boolean | undefined };
  });
  return {
    name: d.name,
    apiRoot,
    id,
    alias,
    title: d.optString('title', 1000) ?? d.name,
    description: d.optString('description'),
    mediaTypes,
    deletionPolicy: d.deletionPolicy(),
    maxObjects: objectQuota(d),
    grants,
  };
}

/** `spec.quota: {maxObjects}`: the most object versions the collection may hold. */
function objectQuota(d: SpecDocument): number | undefined {
  const q = d.spec['quota'];
  if (q === undefined || q === null) return undefined;
  const max = typeof q === 'object' ? (q as Record<string, unknown>)['maxObjects'] : undefined;
  if (typeof max !== 'number' || !Number.isSafeInteger(max) || max <= 0) {
    d.problem('spec.quota must be {maxObjects: a positive integer}');
    return undefined;
  }
  return max;
}

function apiRootRef(d: SpecDocument, apiRoots: ReadonlySet<string>): string {
  const apiRoot = d.spec['apiRoot'];
  if (typeof apiRoot !== 'string' || !apiRoots.has(apiRoot))
    d.problem(`spec.apiRoot must name an ApiRoot defined in the same configuration (got ${JSON.stringify(apiRoot)})`);
  return typeof apiRoot === 'string' ? apiRoot : '';
}

function collectionId(d: SpecDocument): string | undefined {
  const id = d.optString('id');
  if (id !== undefined && !UUID4_RE.test(id)) d.problem('spec.id must be a lower-case UUIDv4');
  return id;
}

function collectionAlias(d: SpecDocument): string | undefined {
  const alias = d.optString('alias');
  if (alias !== undefined && (!PATH_RE.test(alias) || UUID_ANY_RE.test(alias))) d.problem('spec.alias must be one URL-safe segment and not a UUID');
  return alias;
}

function stixMediaTypes(d: SpecDocument): string[] {
  const mt = d.spec['mediaTypes'] ?? DEFAULT_MEDIA_TYPES;
  if (!Array.isArray(mt) || mt.length === 0 || !mt.every((m) => typeof m === 'string' && /^application\/stix\+json(;\s*version=\d+\.\d+)?$/.test(m)))
    d.problem('spec.mediaTypes must be a non-empty list like application/stix+json;version=2.1');
  return Array.isArray(mt) ? mt.map((m) => String(m).replace(/;\s+/, ';')) : [];
}

function principal(d: SpecDocument, opts: ParseOptions): DesiredPrincipal {
  const phc = d.optString('passwordHash');
  if (phc !== undefined && !phc.startsWith('$argon2id$')) d.problem('spec.passwordHash must be an argon2id PHC string');
  if (d.spec['password'] !== undefined) d.problem('plain-text spec.password is not allowed; use passwordFrom (env or file) or passwordHash');
  const plain = passwordFrom(d, opts);
  if (phc !== undefined && plain !== undefined) d.problem('give either passwordHash or passwordFrom, not both');
  const disabled = d.spec['disabled'] === true;
  const rateLimit = requestRate(d);
  return {
    name: d.name,
    displayName: d.optString('displayName', 1000),
    passwordHash: hashProducer(phc, plain),
    disabled,
    groups: groupNames(d),
    apiKeys: apiKeys(d, opts),
    ...(rateLimit !== undefined && { rateLimit }),
  };
}

/** `spec.groups`: a list of group names (DNS labels). */
function groupNames(d: SpecDocument): string[] {
  const g = d.spec['groups'] ?? [];
  if (!Array.isArray(g) || !g.every((x) => typeof x === 'string' && NAME_RE.test(x))) {
    d.problem('spec.groups must be a list of group names (a-z, 0-9, -)');
    return [];
  }
  return [...new Set(g as string[])].sort();
}

/** `spec.rateLimit: {requestsPerSecond, burst?}`; burst defaults to one second's worth. */
function requestRate(d: SpecDocument): RequestRate | undefined {
  const r = d.spec['rateLimit'];
  if (r === undefined || r === null) return undefined;
  const rate = typeof r === 'object' ? toRate(r as Record<string, unknown>) : undefined;
  if (rate === undefined) d.problem('spec.rateLimit must be {requestsPerSecond: a positive number, burst: a positive integer (optional)}');
  return rate;
}

function toRate(r: Record<string, unknown>): RequestRate | undefined {
  const rps = r['requestsPerSecond'];
  if (typeof rps !== 'number' || !(rps > 0)) return undefined;
  const burst = r['burst'] ?? Math.max(1, Math.ceil(rps));
  return typeof burst === 'number' && Number.isInteger(burst) && burst >= 1 ? { perSecond: rps, burst } : undefined;
}

/** Resolves `spec.passwordFrom` (exactly one of env or file) to the plain-text password, reporting what is missing. */
function passwordFrom(d: SpecDocument, opts: ParseOptions): (() => string) | undefined {
  const from = d.spec['passwordFrom'];
  return from === undefined ? undefined : secretFrom(d, from, 'spec.passwordFrom', opts);
}

/** Resolves a `{env: NAME}` or `{file: PATH}` reference to its value, reporting what is missing. */
function secretFrom(d: SpecDocument, from: unknown, field: string, opts: ParseOptions): (() => string) | undefined {
  if (!isObj(from) || (typeof from['env'] !== 'string') === (typeof from['file'] !== 'string')) {
    d.problem(`${field} must have exactly one of env or file`);
    return undefined;
  }
  const envName = from['env'];
  return typeof envName === 'string' ? secretFromEnv(d, envName, field, opts) : secretFromFile(d, String(from['file']), field, opts);
}

function secretFromEnv(d: SpecDocument, envName: string, field: string, opts: ParseOptions): () => string {
  const value = (opts.env ?? process.env)[envName];
  if (value === undefined || value === '') d.problem(`environment variable ${envName} (${field}.env) is not set`);
  return () => value ?? '';
}

function secretFromFile(d: SpecDocument, file: string, field: string, opts: ParseOptions): () => string {
  const path = isAbsolute(file) ? file : resolve(opts.baseDir ?? '.', file);
  let value = '';
  try {
    value = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch {
    d.problem(`cannot read ${field}.file ${path}`);
  }
  return () => value;
}

/**
 * `spec.apiKeys`: keys made with `taxiway key generate` and kept in a Secret, referenced by
 * `keyFrom: {env | file}`, with an optional `name` and `expiresAt`. Only their hashes are stored.
 */
function apiKeys(d: SpecDocument, opts: ParseOptions): DesiredApiKey[] {
  const list = d.spec['apiKeys'] ?? [];
  if (!Array.isArray(list) || !list.every(isObj)) {
    d.problem('spec.apiKeys must be a list of {keyFrom: {env | file}, name?, expiresAt?}');
    return [];
  }
  const keys = list.map((k, i) => apiKey(d, k, `spec.apiKeys[${i}]`, opts)).filter((k): k is DesiredApiKey => k !== undefined);
  const ids = keys.map((k) => k.id);
  if (new Set(ids).size !== ids.length) d.problem('spec.apiKeys lists the same key twice');
  return keys;
}

function apiKey(d: SpecDocument, k: Obj, field: string, opts: ParseOptions): DesiredApiKey | undefined {
  if (k['key'] !== undefined) d.problem(`plain-text ${field}.key is not allowed; use keyFrom (env or file)`);
  const name = k['name'];
  if (name !== undefined && (typeof name !== 'string' || name.length > 200)) d.problem(`${field}.name must be a string of at most 200 characters`);
  const expiresAt = keyExpiry(d, k['expiresAt'], field);
  const value = secretFrom(d, k['keyFrom'], `${field}.keyFrom`, opts)?.();
  if (value === undefined || value === '') return undefined;
  const id = apiKeyId(value);
  if (id === undefined) {
    d.problem(`${field}.keyFrom does not hold a Taxiway API key (txw_<id>_<secret>; make one with taxiway key generate)`);
    return undefined;
  }
  return { id, name: typeof name === 'string' ? name : undefined, expiresAt, secretHash: hashOf(value) };
}

function keyExpiry(d: SpecDocument, v: unknown, field: string): Date | undefined {
  if (v === undefined || v === null) return undefined;
  const t = typeof v === 'string' ? Date.parse(v) : v instanceof Date ? v.getTime() : NaN;
  if (Number.isNaN(t)) d.problem(`${field}.expiresAt must be an RFC 3339 time`);
  return Number.isNaN(t) ? undefined : new Date(t);
}

/** Hashes `secret` at apply time, keeping a stored hash that still matches it (idempotent re-apply). */
function hashOf(secret: string): (stored: string | undefined) => Promise<string> {
  return async (stored) => {
    if (stored !== undefined && (await verify(stored, secret).catch(() => false))) return stored;
    return hash(secret, { algorithm: 2 /* Argon2id */ });
  };
}

/** The hash to store at apply time: a configured PHC string as is, or the plain password hashed (keeping a stored hash that still matches). */
function hashProducer(phc: string | undefined, plain: (() => string) | undefined): DesiredPrincipal['passwordHash'] {
  if (phc !== undefined) return () => Promise.resolve(phc);
  if (plain === undefined) return undefined;
  return (stored) => hashOf(plain())(stored);
}

export function loadDesiredStateFile(path: string, env: Readonly<Record<string, string | undefined>> = process.env): DesiredState {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new DomainError('InvalidConfig', `cannot read configuration file ${path}: ${(e as Error).message}`);
  }
  return toDesiredState(parseDocumentsYaml(text), { env, baseDir: dirname(resolve(path)) });
}
