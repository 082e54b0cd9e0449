import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const DIR = join(__dirname, 'migrations');
const LOCK = join(__dirname, 'migrations.lock.json');

/**
 * A migration that has been merged may have run on someone's database: changing it would leave
 * databases that ran the old text and databases that ran the new one. Each merged migration's
 * SHA-256 is recorded in migrations.lock.json; a change belongs in a new migration.
 */
describe('merged migrations', () => {
  it('never change, and every migration is recorded', () => {
    const lock = JSON.parse(readFileSync(LOCK, 'utf8')) as Record<string, string>;
    const files = readdirSync(DIR).filter((f) => f.endsWith('.ts'));
    const actual = Object.fromEntries(
      files.map((f) => [
        f,
        createHash('sha256')
          .update(readFileSync(join(DIR, f)))
          .digest('hex'),
      ]),
    );
    // A new migration: add its hash to migrations.lock.json in the same commit.
    expect(Object.keys(actual).sort(), 'migrations.lock.json lists exactly the migration files').toEqual(Object.keys(lock).sort());
    for (const [f, hash] of Object.entries(lock)) expect(actual[f], `${f} was changed after it was merged; write a new migration instead`).toBe(hash);
  });
});
