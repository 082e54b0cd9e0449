import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(__dirname, '../../..');

/** TypeScript sources of every lib and app, without tests, build output and migrations (history, not behaviour). */
function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (!['node_modules', 'dist', 'migrations', 'test'].includes(e.name)) out.push(...sources(p));
    } else if (e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** What only the timeline module may write: positions, the object count, the collection's write lock, push queueing. */
const TIMELINE_WRITES = [
  /last_seq\s*=/,
  /last_added_us\s*=/,
  /object_count\s*=/,
  /FROM\s+collections\b[^`;]*FOR\s+NO\s+KEY\s+UPDATE/s,
  /INSERT\s+INTO\s+taxii1_outbox/,
];

describe('the collection timeline has one home (libs/store/src/timeline.ts)', () => {
  it('no other source allocates positions, counts objects, takes the collection lock or queues pushes', () => {
    const offenders: string[] = [];
    for (const base of ['libs', 'apps']) {
      for (const pkg of readdirSync(join(ROOT, base))) {
        for (const file of sources(join(ROOT, base, pkg))) {
          if (file.endsWith(join('store', 'src', 'timeline.ts'))) continue;
          const text = readFileSync(file, 'utf8');
          for (const re of TIMELINE_WRITES) if (re.test(text)) offenders.push(`${relative(ROOT, file)}: ${re.source}`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });
});

/** SQL statements, the PostgreSQL client and TypeORM: what only libs/store may hold (comments are allowed to mention them). */
const SQL = [/[`'"]\s*(SELECT|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|WITH\s+\w+\s+AS)\b/i, /from\s+'pg'/, /from\s+'typeorm(\/[^']*)?'/];

describe('SQL has one home (libs/store)', () => {
  it('no app and no other lib holds SQL text, the pg client or a TypeORM type', () => {
    const offenders: string[] = [];
    for (const base of ['libs', 'apps']) {
      for (const pkg of readdirSync(join(ROOT, base))) {
        // libs/testing is test code: its PostgreSQL harness creates databases with the pg client.
        if (base === 'libs' && (pkg === 'store' || pkg === 'testing')) continue;
        for (const file of sources(join(ROOT, base, pkg))) {
          const text = readFileSync(file, 'utf8');
          for (const re of SQL) if (re.test(text)) offenders.push(`${relative(ROOT, file)}: ${re.source}`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });
});
