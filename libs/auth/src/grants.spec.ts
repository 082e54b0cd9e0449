import { describe, expect, it } from 'vitest';
import type { ApiRootInfo, CatalogSnapshot, CollectionInfo, PrincipalInfo } from '@taxiway/domain';
import { AccessIndex, collectionAccess, strongestRole, type Operation } from './grants';

const none = { read: undefined, write: undefined };
const own = (role: 'read' | 'write' | 'admin') => ({ role, source: { by: 'own-role', role } as const });
const bits = (a: { read: boolean; write: boolean }) => ({ read: a.read, write: a.write });

describe('collectionAccess', () => {
  it('gives nothing without a role or grant', () => {
    expect(collectionAccess({ roles: [], own: undefined, groups: [] })).toEqual({ read: false, write: false, readBy: { by: 'none' }, writeBy: { by: 'none' } });
  });
  it('applies the strongest role, own or through a group', () => {
    expect(strongestRole(['read', 'admin', 'write'])).toBe('admin');
    expect(bits(collectionAccess({ roles: [own('read')], own: undefined, groups: [] }))).toEqual({ read: true, write: false });
    const viaGroup = collectionAccess({
      roles: [own('read'), { role: 'write', source: { by: 'group-role', group: 'g', role: 'write' } }],
      own: undefined,
      groups: [],
    });
    expect(viaGroup).toMatchObject({ read: true, write: true, writeBy: { by: 'group-role', group: 'g' } });
  });
  it('lets a collection override grant beyond the role or deny within it', () => {
    expect(bits(collectionAccess({ roles: [own('read')], own: { read: undefined, write: true }, groups: [] }))).toEqual({ read: true, write: true });
    expect(collectionAccess({ roles: [own('admin')], own: { read: false, write: false }, groups: [] })).toMatchObject({
      read: false,
      write: false,
      readBy: { by: 'own-override' },
    });
  });
  it("puts the principal's own override above its groups', and a group deny above a group grant", () => {
    const a = collectionAccess({
      roles: [own('write')],
      own: undefined,
      groups: [
        { group: 'a', read: true, write: true },
        { group: 'b', read: undefined, write: false },
      ],
    });
    expect(a).toMatchObject({ read: true, write: false, readBy: { by: 'group-override', group: 'a' }, writeBy: { by: 'group-override', group: 'b' } });
    expect(bits(collectionAccess({ roles: [], own: { read: true, write: undefined }, groups: [{ group: 'g', read: false, write: true }] }))).toEqual({
      read: true,
      write: true,
    });
    expect(bits(collectionAccess({ roles: [own('read')], own: none, groups: [{ group: 'g', ...none }] }))).toEqual({ read: true, write: false });
  });
});

const root = (pk: number, path: string): ApiRootInfo => ({ pk, name: path, path, title: path, description: undefined, maxContentLength: 1000 });
const coll = (pk: number, rootPk: number, name: string): CollectionInfo => ({
  pk,
  id: `0000000${pk}-0000-4000-8000-000000000000`,
  apiRootPk: rootPk,
  name,
  alias: undefined,
  title: name,
  description: undefined,
  mediaTypes: [],
});
const person = (pk: number, name: string, groups: string[] = [], over: Partial<PrincipalInfo> = {}): PrincipalInfo => ({
  pk,
  name,
  displayName: undefined,
  passwordHash: `hash-${name}`,
  disabled: false,
  groups,
  ...over,
});

const A = root(1, 'a');
const B = root(2, 'b');
const C1 = coll(10, 1, 'c1');
const C2 = coll(11, 1, 'c2');
const snapshot: CatalogSnapshot = {
  roots: [A, B],
  collections: [C1, C2, coll(20, 2, 'other')],
  principals: [
    person(1, 'owner'),
    person(2, 'member', ['g']),
    person(3, 'denied', ['g']),
    person(4, 'dropbox'),
    person(5, 'nobody'),
    person(6, 'off', [], { disabled: true }),
    person(7, 'admin'),
  ],
  rootGrants: [
    { apiRootPk: 1, principalPk: 1, role: 'write' },
    { apiRootPk: 1, principalPk: 6, role: 'admin' },
    { apiRootPk: 1, principalPk: 7, role: 'admin' },
  ],
  collectionGrants: [
    { collectionPk: 10, principalPk: 3, read: false, write: undefined },
    { collectionPk: 10, principalPk: 4, read: false, write: true },
  ],
  groupRootGrants: [{ apiRootPk: 1, group: 'g', role: 'read' }],
  groupCollectionGrants: [{ collectionPk: 11, group: 'g', read: undefined, write: true }],
  apiKeys: [{ id: 'k1', principalPk: 1, name: undefined, secretHash: 'h1', expiresAtMs: undefined }],
};

describe('AccessIndex', () => {
  const idx = new AccessIndex(snapshot);
  const p = (name: string) => idx.byName(name)!;
  const decide = (name: string, op: Operation, target = { kind: 'collection' as const, collection: C1 }) => idx.authorize(p(name), target, op);

  it('decides every operation on a collection from roles, overrides and groups, with the reason', () => {
    expect(decide('owner', 'write')).toEqual({ allowed: true, visible: true, reason: 'write granted by own role write' });
    expect(decide('member', 'read')).toEqual({ allowed: true, visible: true, reason: 'read granted by role read of group g' });
    expect(decide('member', 'write')).toEqual({ allowed: false, visible: true, reason: 'write denied by role read of group g' });
    expect(decide('member', 'write', { kind: 'collection', collection: C2 }).allowed).toBe(true);
    expect(decide('denied', 'see')).toMatchObject({ allowed: false, visible: false });
    expect(decide('dropbox', 'write').allowed).toBe(true);
    expect(decide('dropbox', 'read')).toEqual({ allowed: false, visible: true, reason: 'read denied by own override' });
    expect(decide('dropbox', 'delete').allowed).toBe(false);
    expect(decide('owner', 'delete').allowed).toBe(true);
    expect(decide('nobody', 'read')).toMatchObject({ allowed: false, visible: false });
  });

  it('sees a root through a role or through one visible collection only', () => {
    expect(idx.visibleRoots(p('owner')).map((r) => r.path)).toEqual(['a']);
    expect(idx.visibleRoots(p('dropbox')).map((r) => r.path)).toEqual(['a']);
    expect(idx.authorize(p('dropbox'), { kind: 'root', root: A }, 'see')).toEqual({ allowed: true, visible: true, reason: 'a visible collection' });
    expect(idx.visibleRoots(p('nobody'))).toEqual([]);
    expect(idx.authorize(p('owner'), { kind: 'root', root: B }, 'see').visible).toBe(false);
  });

  it("lets a status be read by its creator and by the root's admins only", () => {
    const status = (ownerPk: number) => ({ kind: 'status' as const, root: A, ownerPk });
    expect(idx.authorize(p('owner'), status(1), 'read-status').allowed).toBe(true);
    expect(idx.authorize(p('owner'), status(2), 'read-status')).toMatchObject({ allowed: false, visible: false });
    expect(idx.authorize(p('admin'), status(2), 'read-status')).toEqual({ allowed: true, visible: true, reason: 'own role admin' });
    expect(idx.authorize(p('nobody'), status(5), 'read-status').visible).toBe(false);
  });

  it('lets a disabled principal do nothing, whatever it holds', () => {
    expect(idx.authorize(p('off'), { kind: 'root', root: A }, 'see').visible).toBe(false);
  });

  it('changes a credential version when the password or a key changes, and only for that principal', () => {
    const changed = new AccessIndex({
      ...snapshot,
      principals: snapshot.principals.map((x) => (x.name === 'member' ? { ...x, passwordHash: 'new' } : x)),
      apiKeys: [],
    });
    expect(changed.credentialVersion(2)).not.toBe(idx.credentialVersion(2));
    expect(changed.credentialVersion(1)).not.toBe(idx.credentialVersion(1));
    expect(changed.credentialVersion(4)).toBe(idx.credentialVersion(4));
    expect(changed.credentialVersion(99)).toBeUndefined();
  });
});
