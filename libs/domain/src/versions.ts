import type { ObjectFilter, VersionSelector } from './filters';
import { LAST_VERSION } from './filters';

/** The columns version selection needs. */
export interface VersionRow {
  readonly id: string;
  readonly type: string;
  readonly specVersion: string;
  readonly versionUs: number;
  readonly dateAddedUs: number;
}

function compareSpec(a: string, b: string): number {
  const [am = 0, an = 0] = a.split('.').map(Number);
  const [bm = 0, bn = 0] = b.split('.').map(Number);
  return am - bm || an - bn;
}

/**
 * Reference model of TAXII 2.1 filtering (spec D§9.5): first `added_after`, `match[id]`,
 * `match[type]` and `match[spec_version]` narrow the rows; then, per object, the default keeps only
 * its latest spec version; then `match[version]` picks versions among what is left; the result is
 * ordered by `date_added`. The SQL in libs/store implements the same rule and is tested against this
 * function on generated data.
 */
export function selectVersions<R extends VersionRow>(rows: readonly R[], filter: ObjectFilter, defaultVersions: VersionSelector = LAST_VERSION): R[] {
  const narrowed = rows.filter(
    (r) =>
      (filter.addedAfterUs === undefined || r.dateAddedUs > filter.addedAfterUs) &&
      (filter.ids === undefined || filter.ids.includes(r.id)) &&
      (filter.types === undefined || filter.types.includes(r.type)) &&
      (filter.specVersions === undefined || filter.specVersions.includes(r.specVersion)),
  );
  const byId = new Map<string, R[]>();
  for (const r of narrowed) {
    const g = byId.get(r.id);
    if (g) g.push(r);
    else byId.set(r.id, [r]);
  }
  const sel = filter.versions ?? defaultVersions;
  const out: R[] = [];
  for (const group of byId.values()) {
    let candidates = group;
    if (filter.specVersions === undefined) {
      const top = group.reduce((m, r) => (compareSpec(r.specVersion, m) > 0 ? r.specVersion : m), group[0]?.specVersion ?? '0.0');
      candidates = group.filter((r) => r.specVersion === top);
    }
    const maxV = Math.max(...candidates.map((r) => r.versionUs));
    const minV = Math.min(...candidates.map((r) => r.versionUs));
    for (const r of candidates) {
      if (sel.all || (sel.last && r.versionUs === maxV) || (sel.first && r.versionUs === minV) || sel.exact.includes(r.versionUs)) out.push(r);
    }
  }
  return out.sort((a, b) => a.dateAddedUs - b.dateAddedUs);
}
