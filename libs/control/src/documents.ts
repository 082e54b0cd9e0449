import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { hash, verify } from '@node-rs/argon2';
import { parseAllDocuments } from 'yaml';
import {
  DomainError,
  type DeletionPolicy,
  type DesiredApiRoot,
  type DesiredCollection,
  type DesiredPrincipal,
  type DesiredState,
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
}

class Problems {
  readonly list: string[] = [];
  add(where: string, what: string): void {
    this.list.push(`${where}: ${what}`);
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function optString(spec: Obj, key: string, where: string, pr: Problems, max = 10_000): string | undefined {
  const v = spec[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v.length > max) {
    pr.add(where, `spec.${key} must be a string of at most ${max} characters`);
    return undefined;
  }
  return v;
}

function policy(spec: Obj, where: string, pr: Problems): DeletionPolicy {
  const v = spec['deletionPolicy'] ?? 'Retain';
  if (v !== 'Retain' && v !== 'Delete') pr.add(where, 'spec.deletionPolicy must be Retain or Delete');
  return v === 'Delete' ? 'Delete' : 'Retain';
}

function grantsOf(spec: Obj, where: string, pr: Problems): Obj[] {
  const g = spec['grants'];
  if (g === undefined || g === null) return [];
  if (!Array.isArray(g) || !g.every(isObj)) {
    pr.add(where, 'spec.grants must be a list of objects');
    return [];
  }
  return g;
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
  const byKind: Record<Kind, { name: string; spec: Obj; where: string }[]> = { ApiRoot: [], Collection: [], Principal: [] };
  docs.forEach((d, i) => {
    const kind = d.kind;
    const name = d.metadata?.name;
    const where = `document ${i + 1} (${typeof kind === 'string' ? kind : '?'}/${typeof name === 'string' ? name : '?'})`;
    if (typeof d.apiVersion === 'string' && !d.apiVersion.startsWith(`${API_GROUP}/`)) pr.add(where, `apiVersion must be ${API_GROUP}/v1alpha1`);
    if (typeof kind !== 'string' || !(KINDS as readonly string[]).includes(kind)) return pr.add(where, `kind must be one of ${KINDS.join(', ')}`);
    if (typeof name !== 'string' || !NAME_RE.test(name)) return pr.add(where, 'metadata.name must be a DNS label (a-z, 0-9, -; at most 63)');
    const spec = d.spec ?? {};
    if (!isObj(spec)) return pr.add(where, 'spec must be a mapping');
    byKind[kind as Kind].push({ name, spec, where });
  });

  const principals = byKind.Principal.map((p) => principal(p, pr, opts));
  const principalNames = new Set<string>();
  for (const p of principals) {
    if (principalNames.has(p.name)) pr.add(`Principal/${p.name}`, 'defined twice');
    principalNames.add(p.name);
  }
  const needPrincipal = (where: string, v: unknown): string => {
    if (typeof v !== 'string' || !principalNames.has(v)) pr.add(where, `grant names unknown principal ${JSON.stringify(v)}`);
    return typeof v === 'string' ? v : '';
  };

  const apiRoots = byKind.ApiRoot.map(({ name, spec, where }): DesiredApiRoot => {
    const path = optString(spec, 'path', where, pr) ?? name;
    if (!PATH_RE.test(path)) pr.add(where, 'spec.path must be one URL-safe segment (A-Z a-z 0-9 . _ ~ -)');
    if (RESERVED_PATHS.has(path.toLowerCase())) pr.add(where, `spec.path ${path} is reserved`);
    const title = optString(spec, 'title', where, pr, 1000) ?? name;
    const mcl = spec['maxContentLength'] ?? DEFAULT_MAX_CONTENT_LENGTH;
    if (typeof mcl !== 'number' || !Number.isSafeInteger(mcl) || mcl <= 0) pr.add(where, 'spec.maxContentLength must be a positive integer');
    const grants = grantsOf(spec, where, pr).map((g) => {
      const role = g['role'];
      if (role !== 'read' && role !== 'write' && role !== 'admin') pr.add(where, 'grant role must be read, write or admin');
      return { principal: needPrincipal(where, g['principal']), role: (role as Role) ?? 'read' };
    });
    return {
      name,
      path,
      title,
      description: optString(spec, 'description', where, pr),
      maxContentLength: typeof mcl === 'number' ? mcl : 0,
      deletionPolicy: policy(spec, where, pr),
      grants,
    };
  });
  const rootNames = new Set<string>();
  const paths = new Set<string>();
  for (const r of apiRoots) {
    if (rootNames.has(r.name)) pr.add(`ApiRoot/${r.name}`, 'defined twice');
    if (paths.has(r.path.toLowerCase())) pr.add(`ApiRoot/${r.name}`, `path ${r.path} is used by another ApiRoot`);
    rootNames.add(r.name);
    paths.add(r.path.toLowerCase());
  }

  const collections = byKind.Collection.map(({ name, spec, where }): DesiredCollection => {
    const apiRoot = spec['apiRoot'];
    if (typeof apiRoot !== 'string' || !rootNames.has(apiRoot))
      pr.add(where, `spec.apiRoot must name an ApiRoot defined in the same configuration (got ${JSON.stringify(apiRoot)})`);
    const id = optString(spec, 'id', where, pr);
    if (id !== undefined && !UUID4_RE.test(id)) pr.add(where, 'spec.id must be a lower-case UUIDv4');
    const alias = optString(spec, 'alias', where, pr);
    if (alias !== undefined && (!PATH_RE.test(alias) || UUID_ANY_RE.test(alias))) pr.add(where, 'spec.alias must be one URL-safe segment and not a UUID');
    const mt = spec['mediaTypes'] ?? DEFAULT_MEDIA_TYPES;
    if (!Array.isArray(mt) || mt.length === 0 || !mt.every((m) => typeof m === 'string' && /^application\/stix\+json(;\s*version=\d+\.\d+)?$/.test(m)))
      pr.add(where, 'spec.mediaTypes must be a non-empty list like application/stix+json;version=2.1');
    const grants = grantsOf(spec, where, pr).map((g) => {
      if ((g['read'] !== undefined && typeof g['read'] !== 'boolean') || (g['write'] !== undefined && typeof g['write'] !== 'boolean'))
        pr.add(where, 'grant read/write must be booleans');
      return { principal: needPrincipal(where, g['principal']), read: g['read'] === true, write: g['write'] === true };
    });
    return {
      name,
      apiRoot: typeof apiRoot === 'string' ? apiRoot : '',
      id,
      alias,
      title: optString(spec, 'title', where, pr, 1000) ?? name,
      description: optString(spec, 'description', where, pr),
      mediaTypes: Array.isArray(mt) ? mt.map((m) => String(m).replace(/;\s+/, ';')) : [],
      deletionPolicy: policy(spec, where, pr),
      grants,
    };
  });
  const collKeys = new Set<string>();
  const aliases = new Set<string>();
  const ids = new Set<string>();
  for (const c of collections) {
    const k = `${c.apiRoot}/${c.name}`;
    if (collKeys.has(k)) pr.add(`Collection/${c.name}`, `defined twice in ApiRoot ${c.apiRoot}`);
    collKeys.add(k);
    if (c.alias !== undefined) {
      if (aliases.has(`${c.apiRoot}/${c.alias}`)) pr.add(`Collection/${c.name}`, `alias ${c.alias} is used twice in ApiRoot ${c.apiRoot}`);
      aliases.add(`${c.apiRoot}/${c.alias}`);
    }
    if (c.id !== undefined) {
      if (ids.has(c.id)) pr.add(`Collection/${c.name}`, `id ${c.id} is used twice`);
      ids.add(c.id);
    }
  }
  if (pr.list.length > 0) throw new DomainError('InvalidConfig', `invalid configuration:\n  - ${pr.list.join('\n  - ')}`, { problems: pr.list });
  return { apiRoots, collections, principals };
}

function principal({ name, spec, where }: { name: string; spec: Obj; where: string }, pr: Problems, opts: ParseOptions): DesiredPrincipal {
  const phc = optString(spec, 'passwordHash', where, pr);
  if (phc !== undefined && !phc.startsWith('$argon2id$')) pr.add(where, 'spec.passwordHash must be an argon2id PHC string');
  if (spec['password'] !== undefined) pr.add(where, 'plain-text spec.password is not allowed; use passwordFrom (env or file) or passwordHash');
  const from = spec['passwordFrom'];
  let plain: (() => string) | undefined;
  if (from !== undefined) {
    if (!isObj(from) || (typeof from['env'] !== 'string') === (typeof from['file'] !== 'string')) {
      pr.add(where, 'spec.passwordFrom must have exactly one of env or file');
    } else if (typeof from['env'] === 'string') {
      const envName = from['env'];
      const value = (opts.env ?? process.env)[envName];
      if (value === undefined || value === '') pr.add(where, `environment variable ${envName} (passwordFrom.env) is not set`);
      plain = () => value ?? '';
    } else {
      const file = String(from['file']);
      const path = isAbsolute(file) ? file : resolve(opts.baseDir ?? '.', file);
      let value = '';
      try {
        value = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
      } catch {
        pr.add(where, `cannot read passwordFrom.file ${path}`);
      }
      plain = () => value;
    }
  }
  if (phc !== undefined && plain !== undefined) pr.add(where, 'give either passwordHash or passwordFrom, not both');
  const disabled = spec['disabled'] === true;
  const passwordHash =
    phc !== undefined
      ? () => Promise.resolve(phc)
      : plain !== undefined
        ? async (stored: string | undefined): Promise<string | undefined> => {
            const pw = (plain as () => string)();
            if (stored !== undefined && (await verify(stored, pw).catch(() => false))) return stored;
            return hash(pw, { algorithm: 2 /* Argon2id */ });
          }
        : undefined;
  return { name, displayName: optString(spec, 'displayName', where, pr, 1000), passwordHash, disabled };
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
