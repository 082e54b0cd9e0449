/** The routing and access catalogue: API roots, collections, principals and grants. */

export type Role = 'read' | 'write' | 'admin';

export interface ApiRootInfo {
  readonly pk: number;
  readonly name: string;
  /** URL path segment, e.g. `demo` for `/demo/`. */
  readonly path: string;
  readonly title: string;
  readonly description: string | undefined;
  readonly maxContentLength: number;
}

export interface CollectionInfo {
  readonly pk: number;
  /** UUIDv4, the TAXII collection id. */
  readonly id: string;
  readonly apiRootPk: number;
  readonly name: string;
  readonly alias: string | undefined;
  readonly title: string;
  readonly description: string | undefined;
  readonly mediaTypes: readonly string[];
}

export interface PrincipalInfo {
  readonly pk: number;
  readonly name: string;
  readonly displayName: string | undefined;
  /** PHC-format argon2id hash; undefined = no password login. */
  readonly passwordHash: string | undefined;
  readonly disabled: boolean;
  /** Request rate override; undefined = the server's default. */
  readonly rateLimit?: RequestRate | undefined;
  /** Groups whose grants this principal holds too. */
  readonly groups?: readonly string[] | undefined;
}

/** A request rate: a token bucket of `burst` refilled at `perSecond`. */
export interface RequestRate {
  readonly perSecond: number;
  readonly burst: number;
}

/** An API key as the catalogue holds it: never the secret, only its argon2id hash. */
export interface ApiKeyInfo {
  /** Public key id, the middle part of `txw_<id>_<secret>`. */
  readonly id: string;
  readonly principalPk: number;
  readonly name: string | undefined;
  readonly secretHash: string;
  /** Epoch ms; undefined = does not expire. */
  readonly expiresAtMs: number | undefined;
}

export interface RootGrant {
  readonly apiRootPk: number;
  readonly principalPk: number;
  readonly role: Role;
}

/** A per-collection override: true grants, false denies, undefined inherits the API-root role. */
export interface CollectionOverride {
  readonly read: boolean | undefined;
  readonly write: boolean | undefined;
}

export interface CollectionGrant extends CollectionOverride {
  readonly collectionPk: number;
  readonly principalPk: number;
}

export interface GroupRootGrant {
  readonly apiRootPk: number;
  readonly group: string;
  readonly role: Role;
}

export interface GroupCollectionGrant extends CollectionOverride {
  readonly collectionPk: number;
  readonly group: string;
}

export interface CatalogSnapshot {
  readonly roots: readonly ApiRootInfo[];
  readonly collections: readonly CollectionInfo[];
  readonly principals: readonly PrincipalInfo[];
  readonly rootGrants: readonly RootGrant[];
  readonly collectionGrants: readonly CollectionGrant[];
  readonly groupRootGrants: readonly GroupRootGrant[];
  readonly groupCollectionGrants: readonly GroupCollectionGrant[];
  /** Keys that are not revoked (expired ones included: expiry is checked per request). */
  readonly apiKeys: readonly ApiKeyInfo[];
}

/** What one principal may do with one collection. */
export interface Access {
  readonly read: boolean;
  readonly write: boolean;
}

const ROLE_ACCESS: Record<Role, Access> = {
  read: { read: true, write: false },
  write: { read: true, write: true },
  admin: { read: true, write: true },
};

/** What decides one principal's access to one collection. */
export interface AccessInputs {
  /** Roles on the collection's API root: the principal's own and those of its groups. */
  readonly roles: readonly Role[];
  /** The principal's own override on the collection. */
  readonly own: CollectionOverride | undefined;
  /** Overrides held by the principal's groups. */
  readonly groups: readonly CollectionOverride[];
}

const RANK: Record<Role, number> = { read: 1, write: 2, admin: 3 };

/** The strongest of the roles, if any. */
export function strongestRole(roles: readonly Role[]): Role | undefined {
  let best: Role | undefined;
  for (const r of roles) if (best === undefined || RANK[r] > RANK[best]) best = r;
  return best;
}

function decide(own: boolean | undefined, groups: readonly (boolean | undefined)[], inherited: boolean): boolean {
  if (own !== undefined) return own;
  if (groups.includes(false)) return false;
  if (groups.includes(true)) return true;
  return inherited;
}

/**
 * Pure grant decision. The strongest role on the API root (own or through a group) applies to every
 * collection; a collection override then grants (true) or denies (false) read and write: the
 * principal's own override wins, then, among its groups, a deny wins over a grant. A principal that
 * can neither read nor write a collection cannot see it at all.
 */
export function collectionAccess(inputs: AccessInputs): Access {
  const role = strongestRole(inputs.roles);
  const base = role === undefined ? { read: false, write: false } : ROLE_ACCESS[role];
  return {
    read: decide(
      inputs.own?.read,
      inputs.groups.map((g) => g.read),
      base.read,
    ),
    write: decide(
      inputs.own?.write,
      inputs.groups.map((g) => g.write),
      base.write,
    ),
  };
}
