import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verify } from '@node-rs/argon2';
import { describe, expect, it } from 'vitest';
import { loadDesiredStateFile, parseDocumentsYaml, toDesiredState, type ConfigProblem } from './documents';
import { envFileSecrets, type SecretReference, type SecretSource } from './secrets';

const yaml = `
apiVersion: taxiway.io/v1alpha1
kind: ApiRoot
metadata: { name: tenant-a }
spec: { title: Tenant A, grants: [{ principal: alice, role: read }] }
---
apiVersion: taxiway.io/v1alpha1
kind: Collection
metadata: { name: iocs }
spec:
  apiRoot: tenant-a
  alias: iocs
  title: IOCs
  grants: [{ principal: alice, read: true, write: true }]
---
apiVersion: taxiway.io/v1alpha1
kind: Principal
metadata: { name: alice }
spec: { passwordFrom: { env: ALICE_PW } }
`;

describe('toDesiredState', () => {
  it('turns the documents into desired state with defaults', () => {
    const s = toDesiredState(parseDocumentsYaml(yaml), { env: { ALICE_PW: 'pw' } });
    expect(s.apiRoots[0]).toMatchObject({
      name: 'tenant-a',
      path: 'tenant-a',
      maxContentLength: 104857600,
      deletionPolicy: 'Retain',
      grants: [{ principal: 'alice', role: 'read' }],
    });
    expect(s.collections[0]).toMatchObject({ name: 'iocs', apiRoot: 'tenant-a', alias: 'iocs', mediaTypes: ['application/stix+json;version=2.1'] });
  });

  it('accepts a collection grant that sets neither read nor write (both inherit: it changes nothing), as files always could', () => {
    const s = toDesiredState(parseDocumentsYaml(yaml.replace('grants: [{ principal: alice, read: true, write: true }]', 'grants: [{ principal: alice }]')), {
      env: { ALICE_PW: 'pw' },
    });
    expect(s.collections[0]?.grants).toEqual([expect.objectContaining({ principal: 'alice' })]);
  });

  it('hashes a password from the environment with argon2id, and keeps a stored hash that still matches', async () => {
    const s = toDesiredState(parseDocumentsYaml(yaml), { env: { ALICE_PW: 'pw' } });
    const make = s.principals[0]?.passwordHash;
    const h = await make?.(undefined);
    expect(h).toMatch(/^\$argon2id\$/);
    expect(await verify(h ?? '', 'pw')).toBe(true);
    expect(await make?.(h)).toBe(h);
  });

  it('reports every problem at once', () => {
    const bad = `
kind: ApiRoot
metadata: { name: Bad_Name }
---
kind: ApiRoot
metadata: { name: taxii }
spec: { path: taxii2, maxContentLength: -1 }
---
kind: Collection
metadata: { name: c }
spec: { apiRoot: missing, id: not-a-uuid, grants: [{ principal: ghost, read: true }] }
---
kind: Principal
metadata: { name: p }
spec: { password: plain }
---
kind: Widget
metadata: { name: w }
`;
    let problems: string[] = [];
    try {
      toDesiredState(parseDocumentsYaml(bad));
    } catch (e) {
      problems = (e as { details?: { problems?: string[] } }).details?.problems ?? [];
    }
    const text = problems.join('\n');
    expect(text).toContain('metadata.name must be a DNS label');
    expect(text).toContain('spec.path: this path is reserved by the server');
    expect(text).toContain('spec.maxContentLength must be at least 1');
    expect(text).toContain('spec.apiRoot must name an ApiRoot');
    expect(text).toContain('spec.id "not-a-uuid" must match ^[0-9a-f]{8}-');
    expect(text).toContain('spec.grants[0] names unknown principal "ghost"');
    expect(text).toContain('plain-text spec.password is not allowed');
    expect(text).toContain('kind must be one of');
  });

  it('refuses duplicate aliases and paths', () => {
    const dup = `
kind: ApiRoot
metadata: { name: a }
spec: { path: same }
---
kind: ApiRoot
metadata: { name: b }
spec: { path: same }
---
kind: Collection
metadata: { name: c1 }
spec: { apiRoot: a, alias: x }
---
kind: Collection
metadata: { name: c2 }
spec: { apiRoot: a, alias: x }
`;
    expect(() => toDesiredState(parseDocumentsYaml(dup))).toThrow(/path same is used by another ApiRoot[\s\S]*alias x is used twice/);
  });

  it('reports a missing passwordFrom environment variable', () => {
    expect(() => toDesiredState(parseDocumentsYaml(yaml), { env: {} })).toThrow(/ALICE_PW/);
  });

  it("reads a principal's rate limit, defaulting burst to one second's worth, and refuses bad ones", () => {
    const doc = (rl: string) => `kind: Principal\nmetadata: { name: p }\nspec: { rateLimit: ${rl} }\n`;
    expect(toDesiredState(parseDocumentsYaml(doc('{ requestsPerSecond: 5, burst: 20 }'))).principals[0]?.rateLimit).toEqual({ perSecond: 5, burst: 20 });
    expect(toDesiredState(parseDocumentsYaml(doc('{ requestsPerSecond: 2.5 }'))).principals[0]?.rateLimit).toEqual({ perSecond: 2.5, burst: 3 });
    const refused = {
      '{ requestsPerSecond: 0 }': 'spec.rateLimit.requestsPerSecond must be greater than 0',
      '{ requestsPerSecond: 5, burst: 1.5 }': 'spec.rateLimit.burst must be an integer',
      '{ burst: 2 }': 'spec.rateLimit.requestsPerSecond is required',
      '"fast"': 'spec.rateLimit must be a mapping',
    };
    for (const [bad, message] of Object.entries(refused)) expect(() => toDesiredState(parseDocumentsYaml(doc(bad)))).toThrow(message);
  });

  it('reads groups and group grants, keeps collection overrides tri-state, and refuses ambiguous grants', () => {
    const ok = `
kind: ApiRoot
metadata: { name: r }
spec: { grants: [{ group: members, role: read }] }
---
kind: Collection
metadata: { name: c }
spec: { apiRoot: r, grants: [{ group: members, read: false }, { principal: p, write: true }] }
---
kind: Principal
metadata: { name: p }
spec: { groups: [members, analysts, members] }
`;
    const s = toDesiredState(parseDocumentsYaml(ok));
    expect(s.apiRoots[0]?.grants).toEqual([{ group: 'members', role: 'read' }]);
    expect(s.collections[0]?.grants).toEqual([
      { group: 'members', read: false, write: undefined },
      { principal: 'p', read: undefined, write: true },
    ]);
    expect(s.principals[0]?.groups).toEqual(['analysts', 'members']);
    const bad = `
kind: ApiRoot
metadata: { name: r }
spec: { grants: [{ group: members, principal: p, role: read }, { role: read }, { group: Bad_Group, role: read }] }
---
kind: Principal
metadata: { name: p }
spec: { groups: "members" }
`;
    let text = '';
    try {
      toDesiredState(parseDocumentsYaml(bad));
    } catch (e) {
      text = (e as Error).message;
    }
    expect(text.match(/a grant names exactly one of principal or group/g)).toHaveLength(2);
    expect(text).toContain('spec.grants[2].group "Bad_Group" must match');
    expect(text).toContain('spec.groups must be a list');
  });

  it('reads a collection quota and refuses a bad one', () => {
    const doc = (q: string) => `kind: ApiRoot\nmetadata: { name: r }\n---\nkind: Collection\nmetadata: { name: c }\nspec: { apiRoot: r, quota: ${q} }\n`;
    expect(toDesiredState(parseDocumentsYaml(doc('{ maxObjects: 1000 }'))).collections[0]?.maxObjects).toBe(1000);
    expect(() => toDesiredState(parseDocumentsYaml(doc('{ maxObjects: 0 }')))).toThrow('spec.quota.maxObjects must be at least 1');
  });

  it('reads API keys by reference, hashes them at apply time, and refuses inline, malformed or repeated keys', async () => {
    const key = `txw_abcdefghij12_${'A'.repeat(43)}`;
    const doc = (keys: string) => `kind: Principal\nmetadata: { name: p }\nspec: { apiKeys: ${keys} }\n`;
    const s = toDesiredState(parseDocumentsYaml(doc('[{ name: sentinel, keyFrom: { env: K }, expiresAt: "2030-01-01T00:00:00Z" }]')), { env: { K: key } });
    const k = s.principals[0]?.apiKeys?.[0];
    expect(k).toMatchObject({ id: 'abcdefghij12', name: 'sentinel', expiresAt: new Date('2030-01-01T00:00:00Z') });
    const h = (await k?.secretHash(undefined)) ?? '';
    expect(await verify(h, key)).toBe(true);
    expect(await k?.secretHash(h)).toBe(h);
    const problems = (keys: string, env: Record<string, string> = {}) => {
      try {
        toDesiredState(parseDocumentsYaml(doc(keys)), { env });
        return '';
      } catch (e) {
        return (e as Error).message;
      }
    };
    expect(problems(`[{ key: ${key} }]`)).toContain('plain-text spec.apiKeys[0].key is not allowed');
    expect(problems('[{ keyFrom: { env: K } }]', { K: 'not-a-key' })).toContain('does not hold a Taxiway API key');
    expect(problems('[{ keyFrom: { env: MISSING } }]')).toContain('spec.apiKeys[0].keyFrom: environment variable MISSING is not set');
    expect(problems('[{ keyFrom: { env: K } }, { keyFrom: { env: K } }]', { K: key })).toContain('lists the same key twice');
    expect(problems('[{ keyFrom: { env: K }, expiresAt: soon }]', { K: key })).toContain('spec.apiKeys[0].expiresAt must be an RFC 3339 time');
    expect(problems('"all of them"')).toContain('spec.apiKeys must be a list');
    expect(problems('[{ keyFrom: { env: K }, secretRef: { name: s } }]', { K: key })).toContain('spec.apiKeys[0]: an API key names exactly one of secretRef');
  });
});

describe('toDesiredState: structured problems', () => {
  const fail = (text: string, opts = {}): ConfigProblem[] => {
    try {
      toDesiredState(parseDocumentsYaml(text), opts);
    } catch (e) {
      return (e as { details: { structured: ConfigProblem[] } }).details.structured;
    }
    return [];
  };

  it('names the resource (kind, namespace, ApiRoot, name, position) and the field path of each problem', () => {
    const problems = fail(`
kind: ApiRoot
metadata: { name: acme, namespace: tenants }
---
kind: Collection
metadata: { name: iocs, namespace: tenants }
spec: { apiRoot: acme, grants: [{ principal: ghost, read: true }, { group: analysts, write: true }, { group: members, principal: ghost, read: true }] }
`);
    expect(problems).toEqual([
      {
        ref: { index: 1, kind: 'Collection', namespace: 'tenants', apiRoot: 'acme', name: 'iocs' },
        path: 'spec.grants[2]',
        message: 'Collection/tenants/iocs: spec.grants[2]: a grant names exactly one of principal or group',
      },
      {
        ref: { index: 1, kind: 'Collection', namespace: 'tenants', apiRoot: 'acme', name: 'iocs' },
        path: 'spec.grants[0].principal',
        message: 'Collection/tenants/iocs: spec.grants[0] names unknown principal "ghost"',
      },
    ]);
  });

  it('leaves the namespace out for a configuration file, and names the later of two duplicates only', () => {
    const problems = fail('kind: ApiRoot\nmetadata: { name: a }\n---\nkind: ApiRoot\nmetadata: { name: a }\n');
    expect(problems[0]).toEqual({
      ref: { index: 1, kind: 'ApiRoot', name: 'a' },
      path: 'metadata.name',
      message: 'document 2 (ApiRoot/a): ApiRoot a is defined twice',
    });
    expect(problems.map((p) => `${p.ref.index} ${p.path}`)).toEqual(['1 metadata.name', '1 spec.path']);
  });

  it('holds a configuration file to the CRD schema: CEL rules, list limits and defaults', () => {
    const paths = fail(`
kind: ApiRoot
metadata: { name: api }
---
kind: ApiRoot
metadata: { name: r, namespace: n }
spec: { hostnames: [Not-A-Host], deletionPolicy: Keep }
---
kind: Collection
metadata: { name: c }
spec: { apiRoot: r, alias: 0e0e0e0e-1111-2222-3333-444444444444, mediaTypes: [] }
`).map((p) => `${p.ref.index} ${p.path}`);
    expect(paths).toEqual(['0 metadata.name', '1 spec.deletionPolicy', '1 spec.hostnames[0]', '2 spec.alias', '2 spec.mediaTypes']);
    const s = toDesiredState(parseDocumentsYaml('kind: Principal\nmetadata: { name: p }\nspec: {}\n'));
    expect(s.principals[0]).toMatchObject({ disabled: false, groups: [], apiKeys: [], passwordHash: undefined });
  });
});

describe('toDesiredState: secrets through a SecretSource', () => {
  const key = `txw_abcdefghij12_${'B'.repeat(43)}`;
  const crPrincipal = `
apiVersion: taxiway.io/v1alpha1
kind: Principal
metadata: { name: bot, namespace: acme }
spec:
  passwordSecretRef: { name: bot-secret }
  apiKeys: [{ name: ci, secretRef: { name: bot-secret } }]
`;

  it("reads a custom resource's Secret references (with the CRD's default keys) in its namespace", async () => {
    const reads: SecretReference[] = [];
    const secrets: SecretSource = {
      read: (ref) => {
        reads.push(ref);
        return 'secret' in ref && ref.key === 'password' ? { value: 'pw' } : { value: key };
      },
    };
    const p = toDesiredState(parseDocumentsYaml(crPrincipal), { secrets }).principals[0];
    expect(reads).toEqual([
      { secret: 'bot-secret', key: 'password', namespace: 'acme' },
      { secret: 'bot-secret', key: 'key', namespace: 'acme' },
    ]);
    expect(await verify((await p?.passwordHash?.(undefined)) ?? '', 'pw')).toBe(true);
    expect(p?.apiKeys?.map((k) => k.id)).toEqual(['abcdefghij12']);
  });

  it('reports what the source cannot read, at the reference', () => {
    const secrets: SecretSource = { read: () => ({ problem: 'Secret acme/bot-secret has no such key' }) };
    expect(() => toDesiredState(parseDocumentsYaml(crPrincipal), { secrets })).toThrow(
      'Principal/acme/bot: spec.passwordSecretRef: Secret acme/bot-secret has no such key',
    );
  });

  it('reads env and file references from the environment and files next to the configuration; refuses Secret references', () => {
    const dir = mkdtempSync(join(tmpdir(), 'taxiway-secrets-'));
    writeFileSync(join(dir, 'key.txt'), `${key}\n`);
    const files = envFileSecrets({ env: { PW: 'pw' }, baseDir: dir });
    expect(files.read({ env: 'PW' })).toEqual({ value: 'pw' });
    expect(files.read({ env: 'NONE' })).toEqual({ problem: 'environment variable NONE is not set' });
    expect(files.read({ file: 'key.txt' })).toEqual({ value: key });
    expect(files.read({ file: 'absent.txt' })).toEqual({ problem: `cannot read file ${join(dir, 'absent.txt')}` });
    expect(files.read({ secret: 's', key: 'k', namespace: undefined })).toMatchObject({
      problem: expect.stringMatching(/configuration file takes secrets from env or file/),
    });
    writeFileSync(join(dir, 'config.yaml'), 'kind: Principal\nmetadata: { name: p }\nspec: { apiKeys: [{ keyFrom: { file: key.txt } }] }\n');
    expect(() => toDesiredState(parseDocumentsYaml('kind: Principal\nmetadata: { name: p }\nspec: { passwordFrom: { env: PW, file: pw.txt } }\n'))).toThrow(
      'spec.passwordFrom: names exactly one of env or file',
    );
    expect(loadDesiredStateFile(join(dir, 'config.yaml'), {}).principals[0]?.apiKeys?.[0]?.id).toBe('abcdefghij12');
  });
});
