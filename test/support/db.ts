import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { Client } from 'pg';

/** Creates a fresh database on the run's PostgreSQL server and returns its URL. */
export async function freshDatabase(prefix = 't'): Promise<string> {
  const base = inject('pgUrl');
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const c = new Client({ connectionString: base });
  await c.connect();
  try {
    await c.query(`CREATE DATABASE "${name}"`);
  } finally {
    await c.end();
  }
  const u = new URL(base);
  u.pathname = `/${name}`;
  return u.toString();
}
