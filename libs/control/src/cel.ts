import type { RuleCheck } from './schema';

/**
 * The CEL rules of the CRDs (`x-kubernetes-validations`), evaluated in TypeScript for configuration
 * files and for the operator before it applies. Not a CEL interpreter: each shape of rule the CRDs
 * use is recognised here, and crd-types.spec.ts fails when a CRD gains a rule of a shape this module
 * does not know. Transition rules (they compare with `oldSelf`) only the API server can check.
 */
type Obj = Record<string, unknown>;
const field = (v: unknown, key: string): unknown => (typeof v === 'object' && v !== null ? (v as Obj)[key] : undefined);
const has = (v: unknown, key: string): boolean => field(v, key) !== undefined && field(v, key) !== null;
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** `['a', 'b']` in a rule → ['a', 'b']. */
const list = (text: string): string[] => [...text.matchAll(/'([^']*)'/g)].map((m) => m[1] ?? '');

/** A rule shape: the rule's text, and the check it means given the text's captured parts. */
const SHAPES: readonly (readonly [RegExp, (m: readonly string[]) => RuleCheck])[] = [
  [
    /^self\.metadata\.name\.size\(\) <= (\d+)$/,
    ([n]) =>
      (self) =>
        str(field(field(self, 'metadata'), 'name')).length <= Number(n),
  ],
  [
    /^has\(self\.spec\.(\w+)\) \|\| !\(self\.metadata\.name in \[([^\]]*)\]\)$/,
    ([key = '', names = '']) =>
      (self) =>
        has(field(self, 'spec'), key) || !list(names).includes(str(field(field(self, 'metadata'), 'name'))),
  ],
  [
    /^!\(self\.lowerAscii\(\) in \[([^\]]*)\]\)$/,
    ([names = '']) =>
      (self) =>
        !list(names).includes(str(self).replace(/[A-Z]/g, (c) => c.toLowerCase())),
  ],
  [
    /^!self\.matches\('([^']*)'\)$/,
    ([re = '']) =>
      (self) =>
        !new RegExp(re).test(str(self)),
  ],
  [
    /^has\(self\.(\w+)\) != has\(self\.(\w+)\)$/,
    ([a = '', b = '']) =>
      (self) =>
        has(self, a) !== has(self, b),
  ],
  [
    /^has\(self\.(\w+)\) \|\| has\(self\.(\w+)\)$/,
    ([a = '', b = '']) =>
      (self) =>
        has(self, a) || has(self, b),
  ],
];

const compiled = new Map<string, RuleCheck>();

/** Whether `rule` compares with the old object (a transition rule: it applies to updates of a custom resource only). */
export const isTransitionRule = (rule: string): boolean => /\boldSelf\b/.test(rule);

/**
 * The check `rule` means; undefined for a transition rule. Throws for a rule of a shape not known
 * here (crd-types.spec.ts checks every rule of the CRDs, so that never reaches a user).
 */
export function celRule(rule: string): RuleCheck | undefined {
  if (isTransitionRule(rule)) return undefined;
  if (compiled.has(rule)) return compiled.get(rule);
  for (const [re, make] of SHAPES) {
    const m = re.exec(rule);
    if (m === null) continue;
    const check = make(m.slice(1));
    compiled.set(rule, check);
    return check;
  }
  throw new Error(`libs/control does not implement the CEL rule ${JSON.stringify(rule)} (add its shape to libs/control/src/cel.ts)`);
}
