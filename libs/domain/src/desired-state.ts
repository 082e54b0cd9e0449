import type { RequestRate, Role } from './catalog';

/** Validated desired state: what libs/control hands to the store's apply (one code path for file and operator). */
export type DeletionPolicy = 'Retain' | 'Delete';

/** Who a grant is for: exactly one of a principal or a group. */
export interface GrantHolder {
  readonly principal?: string | undefined;
  readonly group?: string | undefined;
}

export interface DesiredApiRoot {
  readonly name: string;
  readonly path: string;
  readonly title: string;
  readonly description: string | undefined;
  readonly maxContentLength: number;
  readonly deletionPolicy: DeletionPolicy;
  readonly grants: readonly (GrantHolder & { readonly role: Role })[];
}

export interface DesiredCollection {
  readonly name: string;
  readonly apiRoot: string;
  /** Pinned UUIDv4; otherwise the stored one is kept, or a new one is generated on create. */
  readonly id: string | undefined;
  readonly alias: string | undefined;
  readonly title: string;
  readonly description: string | undefined;
  readonly mediaTypes: readonly string[];
  readonly deletionPolicy: DeletionPolicy;
  /** Most object versions the collection may hold; absent = no quota. */
  readonly maxObjects?: number | undefined;
  /** read/write: true grants, false denies, absent inherits the API-root role. */
  readonly grants: readonly (GrantHolder & { readonly read?: boolean | undefined; readonly write?: boolean | undefined })[];
}

export interface DesiredPrincipal {
  readonly name: string;
  readonly displayName: string | undefined;
  /**
   * Produces the hash to store, given the stored one: lets apply keep an existing hash that still
   * matches the configured password (idempotent re-apply) and hash only when it changed.
   */
  readonly passwordHash: ((stored: string | undefined) => Promise<string | undefined>) | undefined;
  readonly disabled: boolean;
  /** Request rate override; absent = the server's default. */
  readonly rateLimit?: RequestRate | undefined;
  /** Groups whose grants this principal holds too. */
  readonly groups?: readonly string[] | undefined;
  /** API keys declared by reference (keyFrom env or file); the configuration manages exactly these. */
  readonly apiKeys?: readonly DesiredApiKey[] | undefined;
}

export interface DesiredApiKey {
  /** The public id, the middle part of `txw_<id>_<secret>`. */
  readonly id: string;
  readonly name: string | undefined;
  readonly expiresAt: Date | undefined;
  /** Produces the hash to store, given the stored one: keeps a stored hash that still matches the key. */
  readonly secretHash: (stored: string | undefined) => Promise<string>;
}

export interface DesiredState {
  readonly apiRoots: readonly DesiredApiRoot[];
  readonly collections: readonly DesiredCollection[];
  readonly principals: readonly DesiredPrincipal[];
}

export interface ApplyReport {
  readonly created: readonly string[];
  readonly updated: readonly string[];
  readonly removed: readonly string[];
  readonly retained: readonly string[];
}

/** Resources a prune must leave as they are although the state does not name them. */
export interface PruneExemptions {
  readonly apiRoots?: ReadonlySet<string>;
  /** `apiRoot/name`. */
  readonly collections?: ReadonlySet<string>;
  readonly principals?: ReadonlySet<string>;
}

export interface ApplyOptions {
  readonly prune: boolean;
  /**
   * With prune: resources that still exist in the source (e.g. a custom resource that is
   * temporarily invalid) and so must be kept as they are, neither updated nor removed.
   */
  readonly keep?: PruneExemptions;
}

export interface DesiredStateTarget {
  /**
   * Makes the database match `state` in one transaction. With `prune`, resources the state no longer
   * names are removed (Delete policy) or retired and hidden, their data kept (Retain policy).
   */
  applyDesiredState(state: DesiredState, opts: ApplyOptions): Promise<ApplyReport>;
}
