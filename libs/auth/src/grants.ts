import { createHash } from 'node:crypto';
import type {
  Access,
  ApiKeyInfo,
  ApiRootInfo,
  CatalogSnapshot,
  CollectionGrant,
  CollectionInfo,
  CollectionOverride,
  GroupCollectionGrant,
  PrincipalInfo,
  Role,
} from '@taxiway/domain';

/** What a caller asks to do. `see` = know the target exists; `read-status` = read a status resource. */
export type Operation = 'see' | 'read' | 'write' | 'delete' | 'read-status';

export const OPERATIONS: readonly Operation[] = ['see', 'read', 'write', 'delete', 'read-status'];

/** What an access decision is about. A status carries the principal that created it. */
export type Target =
  | { readonly kind: 'root'; readonly root: ApiRootInfo }
  | { readonly kind: 'collection'; readonly collection: CollectionInfo }
  | { readonly kind: 'status'; readonly root: ApiRootInfo; readonly ownerPk: number };

/**
 * The outcome of `authorize`. `visible` false means the caller may not even know the target exists:
 * every surface answers exactly as for a missing one. `reason` says which grant decided it.
 */
export interface Decision {
  readonly allowed: boolean;
  readonly visible: boolean;
  readonly reason: string;
}

/** Where one bit of access (read or write) came from. */
export type Source =
  | { readonly by: 'own-override' }
  | { readonly by: 'group-override'; readonly group: string }
  | { readonly by: 'own-role'; readonly role: Role }
  | { readonly by: 'group-role'; readonly group: string; readonly role: Role }
  | { readonly by: 'none' };

/** A principal's access to one collection, with where each bit came from. */
export interface CollectionAccess extends Access {
  readonly readBy: Source;
  readonly writeBy: Source;
}

const ROLE_ACCESS: Record<Role, Access> = {
  read: { read: true, write: false },
  write: { read: true, write: true },
  admin: { read: true, write: true },
};

const RANK: Record<Role, number> = { read: 1, write: 2, admin: 3 };

/** The strongest of the roles, if any. */
export function strongestRole(roles: readonly Role[]): Role | undefined {
  let best: Role | undefined;
  for (const r of roles) if (best === undefined || RANK[r] > RANK[best]) best = r;
  return best;
}

/** A role held on an API root, and through what. */
interface HeldRole {
  readonly role: Role;
  readonly source: Source;
}

/** A group's override on a collection. */
interface GroupOverride extends CollectionOverride {
  readonly group: string;
}

/** What decides one principal's access to one collection. */
export interface AccessInputs {
  /** Roles on the collection's API root: the principal's own and those of its groups. */
  readonly roles: readonly HeldRole[];
  /** The principal's own override on the collection. */
  readonly own: CollectionOverride | undefined;
  /** Overrides held by the principal's groups. */
  readonly groups: readonly GroupOverride[];
}

function strongestHeld(roles: readonly HeldRole[]): HeldRole | undefined {
  let best: HeldRole | undefined;
  for (const r of roles) if (best === undefined || RANK[r.role] > RANK[best.role]) best = r;
  return best;
}

/** One bit: the principal's own override wins; among its groups a deny wins over a grant; else the role. */
function decideBit(bit: 'read' | 'write', inputs: AccessInputs, role: HeldRole | undefined): { allowed: boolean; by: Source } {
  const own = inputs.own?.[bit];
  if (own !== undefined) return { allowed: own, by: { by: 'own-override' } };
  const deny = inputs.groups.find((g) => g[bit] === false);
  if (deny !== undefined) return { allowed: false, by: { by: 'group-override', group: deny.group } };
  const grant = inputs.groups.find((g) => g[bit] === true);
  if (grant !== undefined) return { allowed: true, by: { by: 'group-override', group: grant.group } };
  if (role === undefined) return { allowed: false, by: { by: 'none' } };
  return { allowed: ROLE_ACCESS[role.role][bit], by: role.source };
}

/**
 * Pure grant decision. The strongest role on the API root (own or through a group) applies to every
 * collection; a collection override then grants (true) or denies (false) read and write: the
 * principal's own override wins, then, among its groups, a deny wins over a grant. A principal that
 * can neither read nor write a collection cannot see it at all.
 */
export function collectionAccess(inputs: AccessInputs): CollectionAccess {
  const role = strongestHeld(inputs.roles);
  const read = decideBit('read', inputs, role);
  const write = decideBit('write', inputs, role);
  return { read: read.allowed, write: write.allowed, readBy: read.by, writeBy: write.by };
}

/** A source as a person reads it: "own role admin", "override of group analysts", "no grant". */
export function describeSource(s: Source): string {
  switch (s.by) {
    case 'own-override':
      return 'own override';
    case 'group-override':
      return `override of group ${s.group}`;
    case 'own-role':
      return `own role ${s.role}`;
    case 'group-role':
      return `role ${s.role} of group ${s.group}`;
    case 'none':
      return 'no grant';
  }
}

const NOT_VISIBLE = (reason: string): Decision => ({ allowed: false, visible: false, reason });

/** A short fingerprint of what a principal logs in with: changes when its password or keys change. */
function credentialVersion(p: PrincipalInfo, keys: readonly ApiKeyInfo[]): string {
  const h = createHash('sha256')
    .update(String(p.pk))
    .update('\0')
    .update(p.passwordHash ?? '');
  for (const k of [...keys].sort((a, b) => a.id.localeCompare(b.id))) h.update('\0').update(k.id).update(':').update(k.secretHash);
  return h.digest('base64url').slice(0, 16);
}

function groupBy<T, K>(items: readonly T[], key: (t: T) => K): Map<K, T[]> {
  const out = new Map<K, T[]>();
  for (const item of items) {
    const list = out.get(key(item));
    if (list === undefined) out.set(key(item), [item]);
    else list.push(item);
  }
  return out;
}

/**
 * The access view of one catalogue snapshot: who exists, what they log in with, and every grant,
 * indexed for O(1) decisions. Built once per catalogue load (every replica, on NOTIFY); the only
 * place grant rules are evaluated (TAXII 2.1, TAXII 1.x, the push worker and the CLI all ask it).
 */
export class AccessIndex {
  private readonly principalsByName: Map<string, PrincipalInfo>;
  private readonly principalsByPk: Map<number, PrincipalInfo>;
  private readonly keys: Map<string, ApiKeyInfo>;
  private readonly versions: Map<number, string>;
  private readonly roles: Map<string, Role>;
  private readonly grants: Map<string, CollectionGrant>;
  private readonly groupRoles: Map<string, Role>;
  private readonly groupGrants: Map<string, GroupCollectionGrant>;
  private readonly collectionsByRoot: Map<number, CollectionInfo[]>;
  /** Each principal's groups, sorted once (so "the first group that denies" is stable). */
  private readonly groups: Map<number, readonly string[]>;

  constructor(private readonly snapshot: CatalogSnapshot) {
    const s = snapshot;
    this.principalsByName = new Map(s.principals.map((p) => [p.name, p]));
    this.principalsByPk = new Map(s.principals.map((p) => [p.pk, p]));
    this.keys = new Map(s.apiKeys.map((k) => [k.id, k]));
    const keysByOwner = groupBy(s.apiKeys, (k) => k.principalPk);
    this.versions = new Map(s.principals.map((p) => [p.pk, credentialVersion(p, keysByOwner.get(p.pk) ?? [])]));
    this.roles = new Map(s.rootGrants.map((g) => [`${g.apiRootPk}:${g.principalPk}`, g.role]));
    this.grants = new Map(s.collectionGrants.map((g) => [`${g.collectionPk}:${g.principalPk}`, g]));
    this.groupRoles = new Map(s.groupRootGrants.map((g) => [`${g.apiRootPk}:${g.group}`, g.role]));
    this.groupGrants = new Map(s.groupCollectionGrants.map((g) => [`${g.collectionPk}:${g.group}`, g]));
    this.collectionsByRoot = groupBy(s.collections, (c) => c.apiRootPk);
    this.groups = new Map(s.principals.map((p) => [p.pk, [...(p.groups ?? [])].sort()]));
  }

  // --- the directory authentication reads ---

  byName(name: string): PrincipalInfo | undefined {
    return this.principalsByName.get(name);
  }

  byPk(pk: number): PrincipalInfo | undefined {
    return this.principalsByPk.get(pk);
  }

  /** A key that is not revoked, by its public id. */
  apiKey(id: string): ApiKeyInfo | undefined {
    return this.keys.get(id);
  }

  /** Changes when the principal's password or keys change; undefined once it is removed. */
  credentialVersion(pk: number): string | undefined {
    return this.versions.get(pk);
  }

  // --- grants ---

  private groupsOf(principal: PrincipalInfo): readonly string[] {
    return this.groups.get(principal.pk) ?? [];
  }

  /** Roles on the root: the principal's own and its groups'. */
  private rolesOn(rootPk: number, principal: PrincipalInfo): HeldRole[] {
    const roles: HeldRole[] = [];
    const own = this.roles.get(`${rootPk}:${principal.pk}`);
    if (own !== undefined) roles.push({ role: own, source: { by: 'own-role', role: own } });
    for (const group of this.groupsOf(principal)) {
      const role = this.groupRoles.get(`${rootPk}:${group}`);
      if (role !== undefined) roles.push({ role, source: { by: 'group-role', group, role } });
    }
    return roles;
  }

  /** The strongest role the principal holds on the root, own or through a group. */
  roleOn(root: ApiRootInfo, principal: PrincipalInfo): Role | undefined {
    return strongestHeld(this.rolesOn(root.pk, principal))?.role;
  }

  /** What the principal may do with the collection, and why. */
  access(collection: CollectionInfo, principal: PrincipalInfo): CollectionAccess {
    const groups: GroupOverride[] = [];
    for (const group of this.groupsOf(principal)) {
      const grant = this.groupGrants.get(`${collection.pk}:${group}`);
      if (grant !== undefined) groups.push({ group, read: grant.read, write: grant.write });
    }
    const own = this.grants.get(`${collection.pk}:${principal.pk}`);
    return collectionAccess({ roles: this.rolesOn(collection.apiRootPk, principal), own, groups });
  }

  /** Every collection of a root, in catalogue order (visible or not: for lookups by id, alias or name). */
  collectionsOf(root: ApiRootInfo): readonly CollectionInfo[] {
    return this.collectionsByRoot.get(root.pk) ?? [];
  }

  /** Collections of a root the principal can see (read or write), in catalogue order, with its access. */
  visibleCollections(root: ApiRootInfo, principal: PrincipalInfo): { collection: CollectionInfo; access: CollectionAccess }[] {
    const out: { collection: CollectionInfo; access: CollectionAccess }[] = [];
    for (const collection of this.collectionsByRoot.get(root.pk) ?? []) {
      const access = this.access(collection, principal);
      if (access.read || access.write) out.push({ collection, access });
    }
    return out;
  }

  /** API roots the principal can see: a role on it, or a collection of it it can read or write. */
  visibleRoots(principal: PrincipalInfo): ApiRootInfo[] {
    return this.snapshot.roots.filter((root) => this.authorize(principal, { kind: 'root', root }, 'see').allowed);
  }

  /**
   * The one access decision. Roots: seen with a role or a visible collection; `read-status` and the
   * other operations are not defined on a root. Collections: seen with read or write; `read` and
   * `write` as granted; `delete` needs both. Statuses: their creator, or an admin of the root.
   */
  authorize(principal: PrincipalInfo, target: Target, operation: Operation): Decision {
    if (principal.disabled) return NOT_VISIBLE('the principal is disabled');
    switch (target.kind) {
      case 'root':
        return this.authorizeRoot(principal, target.root, operation);
      case 'collection':
        return this.authorizeCollection(principal, target.collection, operation);
      case 'status':
        return this.authorizeStatus(principal, target, operation);
    }
  }

  private authorizeRoot(principal: PrincipalInfo, root: ApiRootInfo, operation: Operation): Decision {
    const role = strongestHeld(this.rolesOn(root.pk, principal));
    const seen =
      role !== undefined
        ? { visible: true, reason: describeSource(role.source) }
        : this.visibleCollections(root, principal).length > 0
          ? { visible: true, reason: 'a visible collection' }
          : { visible: false, reason: 'no grant on the API root or its collections' };
    if (!seen.visible) return NOT_VISIBLE(seen.reason);
    return operation === 'see' ? { allowed: true, ...seen } : { allowed: false, visible: true, reason: `${operation} is not an operation on an API root` };
  }

  private authorizeCollection(principal: PrincipalInfo, collection: CollectionInfo, operation: Operation): Decision {
    return this.decideOnCollection(principal, collection, operation).decision;
  }

  /**
   * `authorize` on a collection, with the access it was decided from (for can_read/can_write), so a
   * caller that needs both computes the grants once.
   */
  decideOnCollection(principal: PrincipalInfo, collection: CollectionInfo, operation: Operation): { decision: Decision; access: CollectionAccess } {
    const a = this.access(collection, principal);
    return { decision: principal.disabled ? NOT_VISIBLE('the principal is disabled') : this.collectionDecision(a, operation), access: a };
  }

  private collectionDecision(a: CollectionAccess, operation: Operation): Decision {
    if (!a.read && !a.write) return NOT_VISIBLE(`no read or write grant (${describeSource(a.readBy)})`);
    const read = `read ${a.read ? 'granted' : 'denied'} by ${describeSource(a.readBy)}`;
    const write = `write ${a.write ? 'granted' : 'denied'} by ${describeSource(a.writeBy)}`;
    const decisions: Record<Operation, Omit<Decision, 'visible'>> = {
      see: { allowed: true, reason: a.read ? read : write },
      read: { allowed: a.read, reason: read },
      write: { allowed: a.write, reason: write },
      delete: { allowed: a.read && a.write, reason: a.read ? write : read },
      'read-status': { allowed: false, reason: 'read-status is not an operation on a collection' },
    };
    return { ...decisions[operation], visible: true };
  }

  private authorizeStatus(principal: PrincipalInfo, t: { root: ApiRootInfo; ownerPk: number }, operation: Operation): Decision {
    const root = this.authorizeRoot(principal, t.root, 'see');
    if (!root.visible || operation !== 'read-status') return NOT_VISIBLE(root.visible ? `${operation} is not an operation on a status` : root.reason);
    if (t.ownerPk === principal.pk) return { allowed: true, visible: true, reason: 'the caller created the status' };
    const role = strongestHeld(this.rolesOn(t.root.pk, principal));
    if (role?.role === 'admin') return { allowed: true, visible: true, reason: describeSource(role.source) };
    return NOT_VISIBLE("another principal's status, and no admin role on the API root");
  }
}
