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

/** A catalogue with nothing in it (before the first load). */
export const EMPTY_CATALOG: CatalogSnapshot = {
  roots: [],
  collections: [],
  principals: [],
  rootGrants: [],
  collectionGrants: [],
  groupRootGrants: [],
  groupCollectionGrants: [],
  apiKeys: [],
};

/** What one principal may do with one collection. */
export interface Access {
  readonly read: boolean;
  readonly write: boolean;
}
