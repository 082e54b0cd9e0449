// Compares two package-lock.json files, ignoring optional platform-specific binaries (entries with
// `optional` and `os`/`cpu`): the registry mirror here serves some of those only some of the time,
// so npm adds or drops them without any real change. Exits 1, naming the entries, on real drift.
import { readFileSync } from 'node:fs';

const [before, after] = process.argv.slice(2).map((f) => JSON.parse(readFileSync(f, 'utf8')));
const platformOnly = (e) => e?.optional === true && (e.os !== undefined || e.cpu !== undefined);
const relevant = (lock) =>
  Object.fromEntries(
    Object.entries(lock.packages ?? {})
      .filter(([, e]) => !platformOnly(e))
      .map(([k, e]) => [k, JSON.stringify(e)]),
  );
const a = relevant(before);
const b = relevant(after);
const changed = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => a[k] !== b[k]);
if (changed.length > 0) {
  console.error(`package-lock.json is out of date (${changed.length} entries differ, e.g. ${changed.slice(0, 5).join(', ')}): run npm install and commit it`);
  process.exit(1);
}
