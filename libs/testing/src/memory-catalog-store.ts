import { EMPTY_CATALOG, type CatalogSnapshot, type CatalogStore } from '@taxiway/domain';

/** A catalogue with nothing in it; `over` fills in the parts a test needs. */
export function catalogSnapshot(over: Partial<CatalogSnapshot> = {}): CatalogSnapshot {
  return { ...EMPTY_CATALOG, ...over };
}

/**
 * A CatalogStore over a snapshot the test sets. Loads answer the current snapshot at once; after
 * `hold()` they wait until the test finishes each one, in any order and with any snapshot, which is
 * how overlapping reloads that complete out of order are staged. `failing` makes loads fail.
 */
export class MemoryCatalogStore implements CatalogStore {
  /** Loads started so far. */
  loads = 0;
  /** When set, loads fail with it. */
  failing: Error | undefined;
  private held: ((s: CatalogSnapshot) => void)[] | undefined;

  constructor(public snapshot: CatalogSnapshot = catalogSnapshot()) {}

  loadCatalog(): Promise<CatalogSnapshot> {
    this.loads++;
    if (this.failing !== undefined) return Promise.reject(this.failing);
    const held = this.held;
    if (held === undefined) return Promise.resolve(this.snapshot);
    return new Promise((resolve) => held.push(resolve));
  }

  /** From now on loads wait for `finish`. */
  hold(): void {
    this.held = [];
  }

  /** Completes the `n`-th held load (0 = the first started since `hold()`) with `snapshot`. */
  finish(n: number, snapshot: CatalogSnapshot): void {
    const resolve = this.held?.[n];
    if (resolve === undefined) throw new Error(`no held load ${n}`);
    resolve(snapshot);
  }
}
