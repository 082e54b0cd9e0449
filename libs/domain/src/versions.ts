import type { ObjectFilter, VersionSelector } from './filters';
import { LAST_VERSION } from './filters';

/** The columns version selection needs. */
export interface VersionRow {
  readonly id: string;
  readonly type: string;
  readonly specVersion: string;
  readonly versionUs: bigint;
  readonly dateAddedUs: number;
}

function compareSpec(a: string, b: string): number {
  const [am = 0, an = 0] = a.split('.').map(Number);
  const [bm = 0, bn = 0] = b.split('.').map(Number);
  return am - bm || an - bn;
}

/** True if the row passes the narrowing filters: `added_after`, `match[id]`, `match[type]` and `match[spec_version]`. */
function passesNarrowing(r: VersionRow, filter: ObjectFilter): boolean {
  return (
    (filter.addedAfterUs === undefined || r.dateAddedUs > filter.addedAfterUs) &&
    (filter.ids === undefined || filter.ids.includes(r.id)) &&
    (filter.types === undefined || filter.types.includes(r.type)) &&
    (filter.specVersions === undefined || filter.specVersions.includes(r.specVersion))
  );
}

function groupById<R extends VersionRow>(rows: readonly R[]): Map<string, R[]> {
  const byId = new Map<string, R[]>();
  for (const r of rows) {
    const g = byId.get(r.id);
    if (g) g.push(r);
    else byId.set(r.id, [r]);
  }
  return byId;
}

/** The versions of one object in its latest spec version. */
function latestSpecVersionOnly<R extends VersionRow>(group: readonly R[]): R[] {
  const top = group.reduce((m, r) => (compareSpec(r.specVersion, m) > 0 ? r.specVersion : m), group[0]?.specVersion ?? '0.0');
  return group.filter((r) => r.specVersion === top);
}

/** Appends to `out` the versions of one object that `sel` picks. */
function pushSelected<R extends VersionRow>(candidates: readonly R[], sel: VersionSelector, out: R[]): void {
  const vs = candidates.map((r) => r.versionUs);
  const maxV = vs.reduce((m, v) => (v > m ? v : m), vs[0] ?? 0n);
  const minV = vs.reduce((m, v) => (v < m ? v : m), vs[0] ?? 0n);
  for (const r of candidates) {
    if (sel.all || (sel.last && r.versionUs === maxV) || (sel.first && r.versionUs === minV) || sel.exact.includes(r.versionUs)) out.push(r);
  }
}

/**
 * Reference model of TAXII 2.1 filtering (spec D§9.5): first `added_after`, `match[id]`,
 * `match[type]` and `match[spec_version]` narrow the rows; then, per object, the default keeps only
 * its latest spec version; then `match[version]` picks versions among what is left; the result is
 * ordered by `date_added`. The SQL in libs/store implements the same rule and is tested against this
 * function on generated data.
 */
export function selectVersions<R extends VersionRow>(rows: readonly R[], filter: ObjectFilter, defaultVersions: VersionSelector = LAST_VERSION): R[] {
  const byId = groupById(rows.filter((r) => passesNarrowing(r, filter)));
  const sel = filter.versions ?? defaultVersions;
  const out: R[] = [];
  for (const group of byId.values()) {
    pushSelected(filter.specVersions === undefined ? latestSpecVersionOnly(group) : group, sel, out);
  }
  return out.sort((a, b) => a.dateAddedUs - b.dateAddedUs);
}
