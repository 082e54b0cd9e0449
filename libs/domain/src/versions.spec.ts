import { describe, expect, it } from 'vitest';
import { ALL_VERSIONS, parseVersionSelector } from './filters';
import { selectVersions, type VersionRow } from './versions';

const A = 'indicator--00000000-0000-4000-8000-000000000001';
const B = 'malware--00000000-0000-4000-8000-000000000002';
const rows: VersionRow[] = [
  { id: A, type: 'indicator', specVersion: '2.1', versionUs: 100n, dateAddedUs: 1 },
  { id: B, type: 'malware', specVersion: '2.1', versionUs: 500n, dateAddedUs: 2 },
  { id: A, type: 'indicator', specVersion: '2.1', versionUs: 300n, dateAddedUs: 3 },
  { id: A, type: 'indicator', specVersion: '2.1', versionUs: 200n, dateAddedUs: 4 }, // older version arriving late
  { id: B, type: 'malware', specVersion: '2.0', versionUs: 900n, dateAddedUs: 5 },
];
const ids = (rs: VersionRow[]): string[] => rs.map((r) => `${r.id.slice(0, 3)}@${r.versionUs}`);

describe('selectVersions (reference model of D§9.5)', () => {
  it('returns only the latest version by default, ordered by date_added', () => {
    expect(ids(selectVersions(rows, {}))).toEqual(['mal@500', 'ind@300']);
  });
  it('returns the first version with match[version]=first', () => {
    expect(ids(selectVersions(rows, { versions: parseVersionSelector(['first']) }))).toEqual(['ind@100', 'mal@500']);
  });
  it('returns every version with all, within the latest spec version by default', () => {
    expect(ids(selectVersions(rows, { versions: ALL_VERSIONS }))).toEqual(['ind@100', 'mal@500', 'ind@300', 'ind@200']);
  });
  it('returns older spec versions only when match[spec_version] asks for them', () => {
    expect(ids(selectVersions(rows, { specVersions: ['2.0'] }))).toEqual(['mal@900']);
    expect(ids(selectVersions(rows, { specVersions: ['2.0', '2.1'] }))).toEqual(['ind@300', 'mal@900']);
  });
  it('picks versions among what the other filters left (added_after, then last)', () => {
    expect(ids(selectVersions(rows, { addedAfterUs: 3 }))).toEqual(['ind@200', 'mal@900']);
  });
  it('unions first and last', () => {
    expect(ids(selectVersions(rows, { ids: [A], versions: parseVersionSelector(['first', 'last']) }))).toEqual(['ind@100', 'ind@300']);
  });
});
