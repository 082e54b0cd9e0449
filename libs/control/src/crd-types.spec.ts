import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { celRule, isTransitionRule } from './cel';
import { GENERATED_FILE, REGENERATE, renderCrdTypes } from './crd-codegen';
import { RESERVED_NAMES, ROOT_RULES, SPEC_SCHEMAS } from './crd-types.generated';
import type { Schema, SchemaRule } from './schema';

const REPO = resolve(__dirname, '../../..');

function rulesIn(s: Schema): SchemaRule[] {
  return [...(s.rules ?? []), ...Object.values(s.properties ?? {}).flatMap(rulesIn), ...(s.items !== undefined ? rulesIn(s.items) : [])];
}
const ALL_RULES = [...Object.values(SPEC_SCHEMAS).flatMap((s: Schema) => rulesIn(s)), ...Object.values(ROOT_RULES).flat()];

describe('crd-types.generated.ts: the spec types and rules generated from crds/', () => {
  it('is what the generator renders from crds/ now (no drift between the CRD YAML and the types)', async () => {
    const committed = readFileSync(resolve(REPO, GENERATED_FILE), 'utf8');
    const rendered = await renderCrdTypes(resolve(REPO, 'crds'));
    expect(committed === rendered, `${GENERATED_FILE} is stale: run \`${REGENERATE}\` and commit it`).toBe(true);
  });

  it('is generated from the CRDs the chart ships (charts/taxiway/files/crds holds copies of crds/)', () => {
    const files = readdirSync(resolve(REPO, 'crds')).filter((f) => f.endsWith('.yaml'));
    expect(readdirSync(resolve(REPO, 'charts/taxiway/files/crds')).sort()).toEqual(files.sort());
    for (const f of files)
      expect(readFileSync(resolve(REPO, 'charts/taxiway/files/crds', f), 'utf8'), `charts/taxiway/files/crds/${f} differs from crds/${f}: copy it`).toBe(
        readFileSync(resolve(REPO, 'crds', f), 'utf8'),
      );
  });

  it('implements every CEL rule of the CRDs that is not a transition rule', () => {
    expect(ALL_RULES.length).toBeGreaterThan(5);
    for (const r of ALL_RULES) expect(() => celRule(r.rule), r.rule).not.toThrow();
    expect(ALL_RULES.filter((r) => isTransitionRule(r.rule)).map((r) => r.message)).toEqual([
      "spec.path is immutable (it is the API root's URL)",
      'spec.id is immutable once set',
      'spec.apiRoot is immutable',
    ]);
  });

  it('takes the reserved names from the CEL rules that refuse them', () => {
    expect(RESERVED_NAMES).toContain('taxii2');
    const pathRule = celRule(SPEC_SCHEMAS.ApiRoot.properties.path.rules[0].rule);
    expect(RESERVED_NAMES.every((n) => pathRule?.(n.toUpperCase()) === false)).toBe(true);
    expect(pathRule?.('taxii21')).toBe(true);
  });
});

describe('celRule: the rule shapes the CRDs use', () => {
  const check = (rule: string, self: unknown): boolean | undefined => celRule(rule)?.(self);

  it('evaluates presence, exclusive presence, regex and list membership as CEL would', () => {
    expect(check('has(self.principal) != has(self.group)', { principal: 'a' })).toBe(true);
    expect(check('has(self.principal) != has(self.group)', { principal: 'a', group: 'b' })).toBe(false);
    expect(check('has(self.principal) != has(self.group)', {})).toBe(false);
    expect(check('has(self.read) || has(self.write)', { write: false })).toBe(true);
    expect(check('has(self.read) || has(self.write)', { principal: 'p' })).toBe(false);
    expect(check("!self.matches('^[0-9]+$')", '123')).toBe(false);
    expect(check("!self.matches('^[0-9]+$')", 'a1')).toBe(true);
    expect(check('self.metadata.name.size() <= 3', { metadata: { name: 'abcd' } })).toBe(false);
    expect(check("has(self.spec.path) || !(self.metadata.name in ['api'])", { metadata: { name: 'api' }, spec: {} })).toBe(false);
    expect(check("has(self.spec.path) || !(self.metadata.name in ['api'])", { metadata: { name: 'api' }, spec: { path: 'x' } })).toBe(true);
  });

  it('leaves transition rules to the API server and refuses a rule of an unknown shape', () => {
    expect(celRule('self == oldSelf')).toBeUndefined();
    expect(() => celRule('self.size() > 2')).toThrow(/does not implement the CEL rule/);
  });
});
