import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlAdminStore, SqlCatalogStore } from '@taxiway/store';
import { basic, client, startServer, type RunningServer } from '../../../test/support/server';
import { RW, STATE } from '../../api/test/fixture';
import { runCommand, type Io, type Stores } from '../src/commands';

function capture(env: Record<string, string> = {}): Io & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return { lines, errors, env, out: (l) => lines.push(l), err: (l) => errors.push(l) };
}

async function until(check: () => Promise<boolean>, ms: number): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (await check()) return Date.now() - t0;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`condition not met within ${ms} ms`);
}

describe('API keys and the taxiway admin CLI (issue 3)', () => {
  let a: RunningServer;
  let b: RunningServer;
  let admin: SqlAdminStore;
  let stores: Stores;

  beforeAll(async () => {
    a = await startServer(STATE);
    // A second replica on the same database: revocation must reach it too.
    b = await startServer(STATE, { env: { DATABASE_URL: a.server.database.url } });
    admin = new SqlAdminStore(a.server.database.dataSource);
    stores = { admin, catalog: new SqlCatalogStore(a.server.database.dataSource), audit: a.server.audit, taxii1: a.server.taxii1Store };
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  const issue = async (...extra: string[]): Promise<{ key: string; id: string }> => {
    const io = capture();
    expect(await runCommand(['key', 'issue', '--principal', 'alice', ...extra], io, stores)).toBe(0);
    const key = io.lines[0] ?? '';
    return { key, id: key.split('_')[1] ?? '' };
  };

  it('issues a key once; it works as Bearer, as Token and as the Basic password, on every replica', async () => {
    const { key } = await issue('--name', 'ci');
    expect(key).toMatch(/^txw_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    for (const s of [a, b]) {
      await until(async () => (await client(s.url, `Bearer ${key}`).get('/tenant-a/collections/')).status === 200, 3000);
      for (const auth of [`Bearer ${key}`, `Token ${key}`, basic('anyone', key)]) {
        const r = await client(s.url, auth).get(`/tenant-a/collections/${RW}/`);
        expect(r.status, auth.slice(0, 6)).toBe(200);
        expect(r.json).toMatchObject({ can_read: true, can_write: true });
      }
    }
  });

  it('lists keys without their secrets', async () => {
    const { key, id } = await issue('--name', 'listed');
    const io = capture();
    expect(await runCommand(['key', 'list', '--principal', 'alice'], io, stores)).toBe(0);
    const text = io.lines.join('\n');
    expect(text).toContain(`${id}\talice\tlisted\t`);
    expect(text).not.toContain(key.slice(17));
  });

  it('stops accepting a revoked key on every replica within seconds', async () => {
    const { key, id } = await issue();
    for (const s of [a, b]) await until(async () => (await client(s.url, `Bearer ${key}`).get('/tenant-a/')).status === 200, 3000);
    expect(await runCommand(['key', 'revoke', id], capture(), stores)).toBe(0);
    for (const s of [a, b]) {
      const took = await until(async () => (await client(s.url, `Bearer ${key}`).get('/tenant-a/')).status === 401, 3000);
      expect(took).toBeLessThan(3000);
    }
    expect(await runCommand(['key', 'revoke', id], capture(), stores)).toBe(1);
  });

  it('refuses an expired key', async () => {
    const { key } = await issue('--expires-in', '1m');
    await until(async () => (await client(a.url, `Bearer ${key}`).get('/tenant-a/')).status === 200, 3000);
    await a.server.database.dataSource.query(`UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1`, [key.split('_')[1]]);
    await a.server.catalog.reload();
    expect((await client(a.url, `Bearer ${key}`).get('/tenant-a/')).status).toBe(401);
  });

  it('creates principals the configuration file does not prune, and lists grants', async () => {
    const io = capture({ SVC_PW: 'svc-secret' });
    expect(await runCommand(['principal', 'create', 'svc-bot', '--password-from-env', 'SVC_PW'], io, stores)).toBe(0);
    await a.server.apply(STATE); // prune=true, and svc-bot is not in STATE
    await until(async () => (await client(a.url, basic('svc-bot', 'svc-secret')).get('/taxii2/')).status === 200, 3000);
    const grants = capture();
    expect(await runCommand(['grants', 'alice'], grants, stores)).toBe(0);
    expect(grants.lines).toEqual([
      'api-root\tcollection\trole\tread\twrite\tdelete\twhy',
      'tenant-a\t*\t-\t-\t-\t-\ta visible collection',
      'tenant-a\trw\t-\ttrue\ttrue\ttrue\tread granted by own override; write granted by own override',
      'tenant-a\tro\t-\ttrue\tfalse\tfalse\tread granted by own override; write denied by own override',
    ]);
  });

  it('explains usage errors with exit code 2 and failures with 1', async () => {
    const io = capture();
    expect(await runCommand(['nonsense'], io, stores)).toBe(2);
    expect(io.errors.join('\n')).toContain('usage: taxiway');
    expect(await runCommand(['key', 'issue'], capture(), stores)).toBe(2);
    expect(await runCommand(['key', 'issue', '--principal', 'alice', '--expires-in', 'soon'], capture(), stores)).toBe(2);
    expect(await runCommand(['key', 'issue', '--principal', 'ghost'], capture(), stores)).toBe(1);
    expect(await runCommand(['principal', 'create', 'alice'], capture(), stores)).toBe(1);
  });
});
