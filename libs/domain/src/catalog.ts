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

export interface CollectionGrant {
  readonly collectionPk: number;
  readonly principalPk: number;
  readonly read: boolean;
  readonly write: boolean;
}

export interface CatalogSnapshot {
  readonly roots: readonly ApiRootInfo[];
  readonly collections: readonly CollectionInfo[];
  readonly principals: readonly PrincipalInfo[];
  readonly rootGrants: readonly RootGrant[];
  readonly collectionGrants: readonly CollectionGrant[];
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

/**
 * Pure grant decision: a role on the API root applies to all its collections; a collection grant
 * adds to it. A principal that can neither read nor write a collection cannot see it at all.
 */
export function collectionAccess(rootRole: Role | undefined, grant: CollectionGrant | undefined): Access {
  const base = rootRole === undefined ? { read: false, write: false } : ROLE_ACCESS[rootRole];
  return { read: base.read || (grant?.read ?? false), write: base.write || (grant?.write ?? false) };
}
