import { describe, expect, it } from 'vitest';
import { desiredFrom, secretCache, type SecretLookup } from './desired';
import type { Kind, Resource } from './resources';

let n = 0;
const res = (kind: Kind, name: string, spec: Record<string, unknown>, extra: Partial<Resource['metadata']> = {}): Resource => ({
  apiVersion: 'taxiway.io/v1alpha1',
  kind,
  metadata: { name, namespace: 'ns', uid: `u${++n}`, generation: 1, creationTimestamp: `2026-01-01T00:00:${String(n).padStart(2, '0')}Z`, ...extra },
  spec,
});
const secrets: SecretLookup = (ns, name) => (ns === 'ns' && name === 'pw' ? { password: 'secret-pw' } : undefined);
const db = { stored: new Set<string>(), cliManaged: new Set<string>(['cli-bot']) };

describe('desiredFrom: custom resources → desired state, keep list and per-resource failures', () => {
  it('turns valid resources into desired state, with Secret references resolved', async () => {
    const out = desiredFrom(
      [
        res('ApiRoot', 'r', {
          grants: [
            { principal: 'p', role: 'read' },
            { principal: 'cli-bot', role: 'write' },
          ],
          hostnames: ['r.example.com'],
        }),
        res('Collection', 'c', { apiRoot: 'r', alias: 'c' }),
        res('Principal', 'p', { passwordSecretRef: { name: 'pw', key: 'password' } }),
      ],
      secrets,
      db,
    );
    expect(out.failures.size).toBe(0);
    expect(out.state.apiRoots.map((r) => r.name)).toEqual(['r']);
    expect(out.state.collections.map((c) => `${c.apiRoot}/${c.name}`)).toEqual(['r/c']);
    expect(await out.state.principals[0]?.passwordHash?.(undefined)).toMatch(/^\$argon2id\$/);
  });

  it('leaves deleting resources out (so the apply prunes them) and keeps failing ones', () => {
    const out = desiredFrom(
      [
        res('ApiRoot', 'gone', {}, { deletionTimestamp: '2026-01-01T00:00:00Z' }),
        res('Collection', 'orphan', { apiRoot: 'missing' }),
        res('Principal', 'nosecret', { passwordSecretRef: { name: 'absent', key: 'password' } }),
      ],
      secrets,
      db,
    );
    expect(out.state.apiRoots).toEqual([]);
    expect([...out.failures].map(([k, v]) => `${k}=${v.reason}/${v.permanent ? 'permanent' : 'transient'}`)).toEqual([
      'Collection/ns/orphan=ApiRootNotFound/transient',
      'Principal/ns/nosecret=SecretNotFound/transient',
    ]);
    expect([...(out.keep.collections ?? [])]).toEqual(['missing/orphan']);
    expect([...(out.keep.principals ?? [])]).toEqual(['nosecret']);
  });

  it('lets the oldest claimant of an id, path or name win and fails the others', () => {
    const id = '7e4f0d7a-1111-4222-8333-444455556666';
    const out = desiredFrom(
      [
        res('ApiRoot', 'r', {}),
        res('ApiRoot', 'r2', { path: 'r' }),
        res('Collection', 'first', { apiRoot: 'r', id }),
        res('Collection', 'second', { apiRoot: 'r', id }),
      ],
      secrets,
      db,
    );
    expect(Object.fromEntries([...out.failures].map(([k, v]) => [k, v.reason]))).toEqual({
      'ApiRoot/ns/r2': 'PathConflict',
      'Collection/ns/second': 'CollectionConflict',
    });
    expect(out.state.collections.map((c) => c.name)).toEqual(['first']);
  });

  it('fails only the resource libs/control finds invalid, and a grant to a principal that does not exist', () => {
    const out = desiredFrom(
      [res('ApiRoot', 'r', { maxContentLength: -5 }), res('ApiRoot', 'ok', { grants: [{ principal: 'ghost', role: 'read' }] }), res('ApiRoot', 'fine', {})],
      secrets,
      db,
    );
    expect(out.failures.get('ApiRoot/ns/r')?.message).toMatch(/maxContentLength/);
    expect(out.failures.get('ApiRoot/ns/ok')?.message).toMatch(/unknown principal "ghost"/);
    expect(out.state.apiRoots.map((r) => r.name)).toEqual(['fine']);
    expect([...(out.keep.apiRoots ?? [])].sort()).toEqual(['ok', 'r']);
  });

  it('fails only the invalid one of two same-named Collections in two tenants (problems are attributed by resource, not by text)', () => {
    const out = desiredFrom(
      [
        res('ApiRoot', 'acme', {}, { namespace: 'acme' }),
        res('ApiRoot', 'globex', {}, { namespace: 'globex' }),
        res('Collection', 'iocs', { apiRoot: 'acme', title: 7 }, { namespace: 'acme' }),
        res('Collection', 'iocs', { apiRoot: 'globex' }, { namespace: 'globex' }),
      ],
      secrets,
      db,
    );
    expect(out.failures.get('Collection/acme/iocs')?.reason).toBe('InvalidSpec');
    expect(out.failures.get('Collection/acme/iocs')?.message).toMatch(/spec\.title/);
    expect(out.failures.has('Collection/globex/iocs')).toBe(false);
    expect(out.state.collections.map((c) => `${c.apiRoot}/${c.name}`)).toEqual(['globex/iocs']);
  });

  it('fails both Collections that claim one id in an ApiRoot-qualified way, and nothing else of that name', () => {
    const id = '11111111-2222-4333-8444-555555555555';
    const out = desiredFrom(
      [
        res('ApiRoot', 'acme', {}, { namespace: 'acme' }),
        res('ApiRoot', 'globex', {}, { namespace: 'globex' }),
        res('Collection', 'iocs', { apiRoot: 'acme', id }, { namespace: 'acme' }),
        res('Collection', 'feed', { apiRoot: 'globex', id }, { namespace: 'globex' }),
        res('Collection', 'iocs', { apiRoot: 'globex' }, { namespace: 'globex' }),
      ],
      secrets,
      db,
    );
    expect(out.failures.has('Collection/globex/iocs')).toBe(false);
    expect(out.state.collections.some((c) => c.apiRoot === 'globex' && c.name === 'iocs')).toBe(true);
  });

  it('reads API keys and passwords from the Secret cache in the resource namespace, with the CRD default keys', () => {
    const key = `txw_abcdefghij12_${'C'.repeat(43)}`;
    const lookup: SecretLookup = (ns, name) => (ns === 'acme' && name === 'bot' ? { password: 'pw', key, other: 'not-a-key' } : undefined);
    const out = desiredFrom(
      [
        res('Principal', 'bot', { passwordSecretRef: { name: 'bot' }, apiKeys: [{ name: 'ci', secretRef: { name: 'bot' } }] }, { namespace: 'acme' }),
        res('Principal', 'odd', { apiKeys: [{ secretRef: { name: 'bot', key: 'other' } }] }, { namespace: 'acme' }),
      ],
      lookup,
      db,
    );
    expect(out.state.principals.map((p) => [p.name, p.apiKeys?.map((k) => k.id)])).toEqual([['bot', ['abcdefghij12']]]);
    expect(out.failures.get('Principal/acme/odd')).toMatchObject({
      reason: 'InvalidSpec',
      message: 'Principal/acme/odd: spec.apiKeys[0] does not hold a Taxiway API key (txw_<id>_<secret>; make one with taxiway key generate)',
    });
  });

  it("states an invalid resource's problems with the field path and the resource, and fails nothing else", () => {
    const out = desiredFrom(
      [
        res('ApiRoot', 'r', {
          grants: [
            { principal: 'p', role: 'read' },
            { group: 'g', role: 'read' },
            { principal: 'ghost', role: 'write' },
          ],
        }),
        res('Principal', 'p', {}),
      ],
      secrets,
      db,
    );
    expect(out.failures.get('ApiRoot/ns/r')?.message).toBe('ApiRoot/ns/r: spec.grants[2] names unknown principal "ghost"');
    expect(out.failures.size).toBe(1);
    expect(out.state.principals.map((p) => p.name)).toEqual(['p']);
  });
});

describe('secretCache: the SecretSource over the Secret cache', () => {
  const source = secretCache((ns, name) => (ns === 'a' && name === 's' ? { k: 'v' } : undefined));

  it('reads a key of a Secret in the given namespace only', () => {
    expect(source.read({ secret: 's', key: 'k', namespace: 'a' })).toEqual({ value: 'v' });
    expect(source.read({ secret: 's', key: 'k', namespace: 'b' })).toEqual({ problem: 'Secret b/s has no key k' });
    expect(source.read({ secret: 's', key: 'x', namespace: 'a' })).toEqual({ problem: 'Secret a/s has no key x' });
  });

  it('reads no environment variables or files', () => {
    process.env['TAXIWAY_TEST_SECRET'] = 'leak';
    try {
      expect(source.read({ env: 'TAXIWAY_TEST_SECRET' })).toEqual({ problem: 'a custom resource takes secrets from Secrets in its namespace only' });
      expect(source.read({ file: '/etc/hostname' })).toMatchObject({ problem: expect.any(String) });
    } finally {
      delete process.env['TAXIWAY_TEST_SECRET'];
    }
  });
});
