/**
 * The part of a CRD's OpenAPI v3 structural schema that libs/control enforces, and the checker that
 * enforces it. The schemas themselves are generated from crds/ (crd-types.generated.ts), so the
 * patterns, enums, lengths, bounds and defaults the API server applies to a custom resource are the
 * ones a configuration file is held to: one source, crds/.
 */
export type SchemaType = 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';

/** A CEL rule of the CRD (`x-kubernetes-validations`); libs/control implements each one by hand (cel.ts). */
export interface SchemaRule {
  readonly rule: string;
  readonly message: string;
}

export interface Schema {
  readonly type?: SchemaType;
  readonly format?: string;
  readonly properties?: Readonly<Record<string, Schema>>;
  readonly required?: readonly string[];
  readonly items?: Schema;
  readonly enum?: readonly string[];
  readonly pattern?: string;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minimum?: number;
  readonly exclusiveMinimum?: boolean;
  readonly maximum?: number;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly default?: unknown;
  readonly rules?: readonly SchemaRule[];
}

/** One finding of the checker: the field path (`spec.grants[2].principal`) and what is wrong with it. */
export interface SchemaFinding {
  readonly path: string;
  readonly message: string;
}

/** Evaluates a CEL rule on the value it is attached to; false = the rule's message is a finding. */
export type RuleCheck = (self: unknown) => boolean;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What `conform` needs besides the schema: where findings go, and the CEL rules' implementations. */
export interface ConformContext {
  readonly report: (f: SchemaFinding) => void;
  /** The implementation of a rule, by its exact text; `undefined` for a rule that does not apply (a transition rule). */
  readonly rule: (rule: string) => RuleCheck | undefined;
}

/**
 * Checks `value` against `schema` as the API server would (types, enums, patterns, lengths, bounds,
 * required fields, CEL rules) and returns it with the schema's defaults applied. A value that fails
 * its own checks is left out of the result (reported once, at its path), so the result has the
 * shape of the generated spec types apart from required fields that were missing.
 */
export function conform(schema: Schema, value: unknown, path: string, ctx: ConformContext): unknown {
  const own = ownFinding(schema, value);
  if (own !== undefined) {
    ctx.report({ path, message: `${path} ${own}` });
    return undefined;
  }
  let inner = 0;
  const counting: ConformContext = {
    ...ctx,
    report: (f) => {
      inner++;
      ctx.report(f);
    },
  };
  const out = conformParts(schema, value, path, counting);
  // A value with a wrong part is not checked as a whole: its rules would only repeat that finding.
  if (out !== undefined && inner === 0) checkRules(schema, out, path, ctx);
  return out;
}

function checkRules(schema: Schema, value: unknown, path: string, ctx: ConformContext): void {
  for (const r of schema.rules ?? []) {
    const check = ctx.rule(r.rule);
    // A CRD message that already names its field (`spec.alias must not be a UUID`) is not prefixed again.
    if (check !== undefined && !check(value)) ctx.report({ path, message: r.message.startsWith(`${path} `) ? r.message : `${path}: ${r.message}` });
  }
}

/** `value` with its properties or items conformed (a scalar as it is). */
function conformParts(schema: Schema, value: unknown, path: string, ctx: ConformContext): unknown {
  if (schema.type === 'object' && isObj(value)) return conformObject(schema, value, path, ctx);
  if (schema.type === 'array') return conformArray(schema, value, path, ctx);
  return value;
}

function conformObject(schema: Schema, value: Obj, path: string, ctx: ConformContext): Obj {
  const out: Obj = { ...value };
  for (const [key, sub] of Object.entries(schema.properties ?? {})) {
    const v = value[key] ?? sub.default;
    if (v === undefined || v === null) {
      delete out[key];
      if (schema.required?.includes(key)) ctx.report({ path: `${path}.${key}`, message: `${path}.${key} is required` });
      continue;
    }
    const conformed = conform(sub, v, `${path}.${key}`, ctx);
    if (conformed === undefined) delete out[key];
    else out[key] = conformed;
  }
  return out;
}

/** An array whose items all conform, or undefined (the whole list is left out when one item is wrong). */
function conformArray(schema: Schema, value: unknown, path: string, ctx: ConformContext): unknown[] | undefined {
  const items = value as unknown[];
  if (schema.items === undefined) return items;
  const itemSchema = schema.items;
  const out = items.map((item, i) => conform(itemSchema, item, `${path}[${i}]`, ctx));
  return out.every((v) => v !== undefined) ? out : undefined;
}

/** What is wrong with `value` itself (not with its properties or items), as the end of a sentence. */
function ownFinding(schema: Schema, value: unknown): string | undefined {
  const t = typeFinding(schema, value);
  if (t !== undefined) return t;
  if (typeof value === 'string') return stringFinding(schema, value);
  if (typeof value === 'number') return numberFinding(schema, value);
  if (Array.isArray(value)) return lengthFinding(schema.minItems, schema.maxItems, value.length, 'items');
  return undefined;
}

/** Whether a value has a schema type, and what to say when it has not. */
const TYPES: Readonly<Record<SchemaType, readonly [(v: unknown, format?: string) => boolean, string]>> = {
  object: [isObj, 'must be a mapping'],
  array: [Array.isArray, 'must be a list'],
  string: [(v, format) => typeof v === 'string' || (format === 'date-time' && v instanceof Date), 'must be a string'],
  integer: [(v) => typeof v === 'number' && Number.isSafeInteger(v), 'must be an integer'],
  number: [(v) => typeof v === 'number' && Number.isFinite(v), 'must be a number'],
  boolean: [(v) => typeof v === 'boolean', 'must be true or false'],
};

function typeFinding(schema: Schema, value: unknown): string | undefined {
  if (schema.type === undefined) return undefined;
  const [is, finding] = TYPES[schema.type];
  return is(value, schema.format) ? undefined : finding;
}

const regexes = new Map<string, RegExp>();
function regex(pattern: string): RegExp {
  let re = regexes.get(pattern);
  if (re === undefined) regexes.set(pattern, (re = new RegExp(pattern)));
  return re;
}

function stringFinding(schema: Schema, value: string): string | undefined {
  if (schema.enum !== undefined && !schema.enum.includes(value)) return `must be one of ${schema.enum.join(', ')} (got ${JSON.stringify(value)})`;
  const length = lengthFinding(schema.minLength, schema.maxLength, value.length, 'characters');
  if (length !== undefined) return length;
  if (schema.pattern !== undefined && !regex(schema.pattern).test(value)) return `${JSON.stringify(value)} must match ${schema.pattern}`;
  if (schema.format === 'date-time' && Number.isNaN(Date.parse(value))) return 'must be an RFC 3339 time';
  return undefined;
}

function numberFinding(schema: Schema, value: number): string | undefined {
  if (schema.minimum !== undefined) {
    if (schema.exclusiveMinimum === true && !(value > schema.minimum)) return `must be greater than ${schema.minimum}`;
    if (value < schema.minimum) return `must be at least ${schema.minimum}`;
  }
  if (schema.maximum !== undefined && value > schema.maximum) return `must be at most ${schema.maximum}`;
  return undefined;
}

function lengthFinding(min: number | undefined, max: number | undefined, length: number, unit: string): string | undefined {
  if (min !== undefined && length < min) return `must have at least ${min} ${unit}`;
  if (max !== undefined && length > max) return `must have at most ${max} ${unit}`;
  return undefined;
}
