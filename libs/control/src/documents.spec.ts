import { verify } from '@node-rs/argon2';
import { describe, expect, it } from 'vitest';
import { parseDocumentsYaml, toDesiredState } from './documents';

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
    expect(text).toContain('spec.path taxii2 is reserved');
    expect(text).toContain('maxContentLength must be a positive integer');
    expect(text).toContain('spec.apiRoot must name an ApiRoot');
    expect(text).toContain('spec.id must be a lower-case UUIDv4');
    expect(text).toContain('unknown principal "ghost"');
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
    for (const bad of ['{ requestsPerSecond: 0 }', '{ requestsPerSecond: 5, burst: 1.5 }', '"fast"']) {
      expect(() => toDesiredState(parseDocumentsYaml(doc(bad)))).toThrow(/spec.rateLimit must be/);
    }
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
    expect(text).toContain('grant names a malformed group "Bad_Group"');
    expect(text).toContain('spec.groups must be a list of group names');
  });

  it('reads a collection quota and refuses a bad one', () => {
    const doc = (q: string) => `kind: ApiRoot\nmetadata: { name: r }\n---\nkind: Collection\nmetadata: { name: c }\nspec: { apiRoot: r, quota: ${q} }\n`;
    expect(toDesiredState(parseDocumentsYaml(doc('{ maxObjects: 1000 }'))).collections[0]?.maxObjects).toBe(1000);
    expect(() => toDesiredState(parseDocumentsYaml(doc('{ maxObjects: 0 }')))).toThrow(/spec.quota must be/);
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
    expect(problems('[{ keyFrom: { env: MISSING } }]')).toContain('environment variable MISSING (spec.apiKeys[0].keyFrom.env) is not set');
    expect(problems('[{ keyFrom: { env: K } }, { keyFrom: { env: K } }]', { K: key })).toContain('lists the same key twice');
    expect(problems('[{ keyFrom: { env: K }, expiresAt: soon }]', { K: key })).toContain('expiresAt must be an RFC 3339 time');
    expect(problems('"all of them"')).toContain('spec.apiKeys must be a list');
  });
});
