import { describe, expect, it } from 'vitest';
import { celRule } from './cel';
import { conform, type Schema, type SchemaFinding } from './schema';

const SCHEMA: Schema = {
  type: 'object',
  required: ['name'],
  properties: {
    name: { type: 'string', pattern: '^[a-z]+$', maxLength: 5 },
    policy: { type: 'string', enum: ['Retain', 'Delete'], default: 'Retain' },
    size: { type: 'integer', minimum: 1, default: 10 },
    rate: { type: 'number', minimum: 0, exclusiveMinimum: true },
    at: { type: 'string', format: 'date-time' },
    tags: { type: 'array', minItems: 1, maxItems: 2, items: { type: 'string' } },
    grants: {
      type: 'array',
      items: {
        type: 'object',
        properties: { a: { type: 'string' }, b: { type: 'string', pattern: '^x$' } },
        rules: [{ rule: 'has(self.a) != has(self.b)', message: 'one of a or b' }],
      },
    },
  },
};

function run(value: unknown): { out: unknown; findings: SchemaFinding[] } {
  const findings: SchemaFinding[] = [];
  const out = conform(SCHEMA, value, 'spec', { report: (f) => findings.push(f), rule: celRule });
  return { out, findings };
}

describe('conform: a value checked against a CRD schema', () => {
  it('fills in defaults and keeps fields the schema does not know', () => {
    expect(run({ name: 'abc', extra: 1 })).toEqual({ out: { name: 'abc', extra: 1, policy: 'Retain', size: 10 }, findings: [] });
  });

  it('reports each wrong value once at its path, and leaves it out', () => {
    const { out, findings } = run({ name: 'TOOLONG', policy: 'Keep', size: 0.5, rate: 0, at: 'soon', tags: [], grants: [{ a: 'x' }, { b: 'y' }] });
    expect(findings).toEqual([
      { path: 'spec.name', message: 'spec.name must have at most 5 characters' },
      { path: 'spec.policy', message: 'spec.policy must be one of Retain, Delete (got "Keep")' },
      { path: 'spec.size', message: 'spec.size must be an integer' },
      { path: 'spec.rate', message: 'spec.rate must be greater than 0' },
      { path: 'spec.at', message: 'spec.at must be an RFC 3339 time' },
      { path: 'spec.tags', message: 'spec.tags must have at least 1 items' },
      { path: 'spec.grants[1].b', message: 'spec.grants[1].b "y" must match ^x$' },
    ]);
    expect(out).toEqual({ grants: [{ a: 'x' }, {}] });
  });

  it("checks a value's CEL rules once its parts are right, and reports missing required fields", () => {
    expect(run({ grants: [{ a: 'x', b: 'x' }, 'nope'] }).findings).toEqual([
      { path: 'spec.name', message: 'spec.name is required' },
      { path: 'spec.grants[0]', message: 'spec.grants[0]: one of a or b' },
      { path: 'spec.grants[1]', message: 'spec.grants[1] must be a mapping' },
    ]);
  });

  it('does not repeat the path before a CRD rule message that already names its field', () => {
    const schema: Schema = { type: 'string', rules: [{ rule: "!self.matches('^[0-9]+$')", message: 'spec.alias must not be a number' }] };
    const findings: SchemaFinding[] = [];
    conform(schema, '123', 'spec.alias', { report: (f) => findings.push(f), rule: celRule });
    expect(findings).toEqual([{ path: 'spec.alias', message: 'spec.alias must not be a number' }]);
  });

  it('leaves out a whole list when one item has the wrong type', () => {
    expect(run({ name: 'a', tags: ['x', 3] })).toEqual({
      out: { name: 'a', policy: 'Retain', size: 10 },
      findings: [{ path: 'spec.tags[1]', message: 'spec.tags[1] must be a string' }],
    });
  });
});
