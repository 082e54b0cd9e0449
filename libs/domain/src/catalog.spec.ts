import { describe, expect, it } from 'vitest';
import { collectionAccess, strongestRole } from './catalog';

const none = { read: undefined, write: undefined };

describe('collectionAccess', () => {
  it('gives nothing without a role or grant', () => {
    expect(collectionAccess({ roles: [], own: undefined, groups: [] })).toEqual({ read: false, write: false });
  });
  it('applies the strongest role, own or through a group', () => {
    expect(strongestRole(['read', 'admin', 'write'])).toBe('admin');
    expect(collectionAccess({ roles: ['read'], own: undefined, groups: [] })).toEqual({ read: true, write: false });
    expect(collectionAccess({ roles: ['read', 'write'], own: undefined, groups: [] })).toEqual({ read: true, write: true });
  });
  it('lets a collection override grant beyond the role or deny within it', () => {
    expect(collectionAccess({ roles: ['read'], own: { read: undefined, write: true }, groups: [] })).toEqual({ read: true, write: true });
    expect(collectionAccess({ roles: ['admin'], own: { read: false, write: false }, groups: [] })).toEqual({ read: false, write: false });
  });
  it("puts the principal's own override above its groups', and a group deny above a group grant", () => {
    expect(
      collectionAccess({
        roles: ['write'],
        own: undefined,
        groups: [
          { read: true, write: true },
          { read: undefined, write: false },
        ],
      }),
    ).toEqual({ read: true, write: false });
    expect(collectionAccess({ roles: [], own: { read: true, write: undefined }, groups: [{ read: false, write: true }] })).toEqual({ read: true, write: true });
    expect(collectionAccess({ roles: ['read'], own: none, groups: [none] })).toEqual({ read: true, write: false });
  });
});
