import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { parse } from 'yaml';
import type { Schema, SchemaRule } from './schema';

/**
 * Renders crd-types.generated.ts from the CRDs in crds/ (the source of truth, STYLE.md): one spec
 * interface per kind, the spec schemas libs/control validates with, the CEL rules of the resources
 * and the reserved names those rules list. Run by scripts/gen-crd-types.mjs; crd-types.spec.ts fails
 * when the committed file differs from what this renders.
 */
export const GENERATED_FILE = 'libs/control/src/crd-types.generated.ts';
export const REGENERATE = 'npx tsx scripts/gen-crd-types.mjs';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The keys of a structural schema that are carried over (descriptions go into the doc comments). */
const KEPT = [
  'type',
  'format',
  'required',
  'enum',
  'pattern',
  'minLength',
  'maxLength',
  'minimum',
  'exclusiveMinimum',
  'maximum',
  'minItems',
  'maxItems',
  'default',
];

interface Crd {
  readonly kind: string;
  /** `openAPIV3Schema` of the served storage version. */
  readonly root: Obj;
}

const objectAt = (v: unknown, key: string): Obj | undefined => (isObj(v) && isObj(v[key]) ? v[key] : undefined);

function readCrd(file: string, text: string): Crd {
  const spec = objectAt(parse(text), 'spec');
  const names = objectAt(spec, 'names');
  const versions = spec?.['versions'];
  const version: unknown = Array.isArray(versions) ? (versions as unknown[]).find((v) => isObj(v) && v['storage'] === true) : undefined;
  const schema = objectAt(objectAt(version, 'schema'), 'openAPIV3Schema');
  const kind = names?.['kind'];
  if (typeof kind !== 'string' || schema === undefined) throw new Error(`${file}: not a CustomResourceDefinition with a storage version schema`);
  return { kind, root: schema };
}

/** The CRDs in `dir`, ordered by kind. */
export function readCrds(dir: string): Crd[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => readCrd(f, readFileSync(join(dir, f), 'utf8')))
    .sort((a, b) => a.kind.localeCompare(b.kind));
}

function rulesOf(node: Obj): SchemaRule[] | undefined {
  const v = node['x-kubernetes-validations'];
  if (!Array.isArray(v)) return undefined;
  return (v as Obj[]).map((r) => ({ rule: String(r['rule']), message: String(r['message']) }));
}

/** The structural schema without descriptions and list-type markers, with CEL rules as `rules`. */
function trim(node: Obj): Schema {
  const out: Record<string, unknown> = {};
  for (const k of KEPT) if (node[k] !== undefined) out[k] = node[k];
  if (isObj(node['properties'])) out['properties'] = Object.fromEntries(Object.entries(node['properties']).map(([k, v]) => [k, trim(v as Obj)]));
  if (isObj(node['items'])) out['items'] = trim(node['items']);
  const rules = rulesOf(node);
  if (rules !== undefined) out['rules'] = rules;
  return out;
}

const doc = (node: Obj, indent = ''): string => {
  const d = node['description'];
  return typeof d === 'string' ? `${indent}/** ${d.replace(/\*\//g, '*\\/')} */\n` : '';
};

/** The TypeScript type of a schema node. */
function typeOf(node: Obj): string {
  const t = node['type'];
  if (Array.isArray(node['enum'])) return (node['enum'] as unknown[]).map((e) => JSON.stringify(e)).join(' | ');
  if (t === 'string') return 'string';
  if (t === 'integer' || t === 'number') return 'number';
  if (t === 'boolean') return 'boolean';
  if (t === 'array') return `readonly (${isObj(node['items']) ? typeOf(node['items']) : 'unknown'})[]`;
  if (t === 'object' && isObj(node['properties'])) return `{\n${members(node)}}`;
  return 'Readonly<Record<string, unknown>>';
}

function members(node: Obj): string {
  const required = new Set(Array.isArray(node['required']) ? (node['required'] as string[]) : []);
  const props = isObj(node['properties']) ? node['properties'] : {};
  return Object.entries(props)
    .map(([k, v]) => `${doc(v as Obj)}readonly ${k}${required.has(k) ? '' : '?'}: ${typeOf(v as Obj)};\n`)
    .join('');
}

/** `[...]` lists in a rule, e.g. the reserved names in `!(self.lowerAscii() in ['taxii2', ...])`. */
function listsIn(rule: string): string[][] {
  return [...rule.matchAll(/\bin \[([^\]]*)\]/g)].map((m) => [...(m[1] ?? '').matchAll(/'([^']*)'/g)].map((x) => x[1] ?? ''));
}

/** The names the server reserves: the one list every CEL rule of the CRDs tests names against. */
function reservedNames(rules: readonly SchemaRule[]): string[] {
  const lists = rules.flatMap((r) => listsIn(r.rule));
  const first = lists[0];
  if (first === undefined) throw new Error('no CEL rule lists the reserved names');
  if (lists.some((l) => l.join() !== first.join())) throw new Error('the CEL rules list different reserved names; keep one list');
  return first;
}

function allRules(node: Obj): SchemaRule[] {
  const own = rulesOf(node) ?? [];
  const props = isObj(node['properties']) ? Object.values(node['properties']) : [];
  const items = isObj(node['items']) ? [node['items']] : [];
  return [...own, ...[...props, ...items].flatMap((c) => (isObj(c) ? allRules(c) : []))];
}

function specOf(crd: Crd): Obj {
  const props = crd.root['properties'];
  const spec = isObj(props) ? props['spec'] : undefined;
  if (!isObj(spec)) throw new Error(`${crd.kind}: the schema has no spec`);
  return spec;
}

/** The source of crd-types.generated.ts for the CRDs in `dir`, formatted with the repository's Prettier settings. */
export async function renderCrdTypes(dir: string): Promise<string> {
  const crds = readCrds(dir);
  const parts = [
    `// Generated by ${REGENERATE} from crds/*.yaml; do not edit. Change the CRDs and regenerate.\n`,
    `import type { Schema, SchemaRule } from './schema';\n`,
    `export const CRD_KINDS = ${JSON.stringify(crds.map((c) => c.kind))} as const;\n`,
    ...crds.map((c) => `${doc(c.root)}export interface ${c.kind}Spec ${typeOf(specOf(c))}\n`),
    `/** The spec schemas (descriptions left out), for libs/control's checks. */\nexport const SPEC_SCHEMAS = {\n${crds.map((c) => `${c.kind}: ${JSON.stringify(trim(specOf(c)))},\n`).join('')}} as const satisfies Readonly<Record<string, Schema>>;\n`,
    `/** The CEL rules on each resource as a whole (its metadata with its spec). */\nexport const ROOT_RULES = {\n${crds.map((c) => `${c.kind}: ${JSON.stringify(rulesOf(c.root) ?? [])},\n`).join('')}} as const satisfies Readonly<Record<string, readonly SchemaRule[]>>;\n`,
    `/** Path segments the server itself uses, as the CEL rules list them: no API root may take them. */\nexport const RESERVED_NAMES = ${JSON.stringify(reservedNames(crds.flatMap((c) => allRules(c.root))))} as const;\n`,
  ];
  const options = (await resolveConfig(join(dir, '..', GENERATED_FILE))) ?? {};
  return format(parts.join('\n'), { ...options, parser: 'typescript' });
}
