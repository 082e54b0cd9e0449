import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlAdminStore, SqlCatalogStore } from '@taxiway/store';
import { basic, client, startServer, type RunningServer } from '../../../test/support/server';
import { indicator, indicatorId, RO, RW, STATE } from '../../api/test/fixture';
import { runCommand, type Io } from '../src/commands';

describe('audit log of writes and reads (issue 3)', () => {
  let s: RunningServer;
  beforeAll(async () => {
    s = await startServer(STATE);
  });
  afterAll(async () => {
    await s.close();
  });

  const cli = async (...argv: string[]): Promise<{ code: number; rows: string[][]; errors: string[] }> => {
    await s.server.audit.flush();
    const lines: string[] = [];
    const errors: string[] = [];
    const io: Io = { out: (l) => lines.push(l), err: (l) => errors.push(l), env: {} };
    const code = await runCommand(argv, io, {
      admin: new SqlAdminStore(s.server.database.dataSource),
      catalog: new SqlCatalogStore(s.server.database.dataSource),
      audit: s.server.audit,
      taxii1: s.server.taxii1Store,
    });
    return { code, rows: lines.slice(1).map((l) => l.split('\t').slice(1)), errors };
  };

  it('records who added, read and deleted what, with counts, status id and filter summary, per API root', async () => {
    const alice = client(s.url, basic('alice'));
    const id = indicatorId();
    const status = (
      await alice.post(`/tenant-a/collections/${RW}/objects/`, {
        objects: [indicator(id, '2024-01-01T00:00:00.000Z'), indicator(indicatorId(), '2024-01-01T00:00:00.000Z'), { id: 'bad' }],
      })
    ).json;
    await alice.get(`/tenant-a/collections/${RW}/objects/?match[type]=indicator&limit=5`);
    await alice.del(`/tenant-a/collections/${RW}/objects/${id}/`);
    expect((await cli('audit', 'tenant-a', '--limit', '10')).rows).toEqual([
      ['alice', 'delete', 'rw', 'object', '1', '-', id],
      ['alice', 'read', 'rw', 'objects', '2', '-', 'match[type]=indicator limit=5'],
      ['alice', 'add', 'rw', 'objects', '2', String(status['id']), '1 failed'],
    ]);
    expect((await cli('audit', 'tenant-b')).rows).toEqual([]);
  });

  it('records manifest reads but not refused requests, and filters by principal, action and time', async () => {
    const bob = client(s.url, basic('bob'));
    const alice = client(s.url, basic('alice'));
    const id = indicatorId();
    await alice.post(`/tenant-a/collections/${RO}/objects/`, { objects: [indicator(id)] }); // 403: not audited
    await bob.get(`/tenant-a/collections/${RW}/manifest/?match[type]=malware`);
    await bob.get(`/tenant-a/collections/${RW}/objects/${id}/versions/`); // 404 (never stored): not audited
    await bob.get(`/tenant-a/collections/${RW}/objects/?next=opaque-token-left-out`); // 400: not audited
    const bobs = await cli('audit', 'tenant-a', '--principal', 'bob');
    expect(bobs.rows).toEqual([['bob', 'read', 'rw', 'manifest', '0', '-', 'match[type]=malware']]);
    expect((await cli('audit', 'tenant-a', '--action', 'add')).rows.map((r) => r[0])).toEqual(['alice']);
    expect((await cli('audit', 'tenant-a', '--since', '1m', '--limit', '2')).rows).toHaveLength(2);
    expect((await cli('audit', 'tenant-a', '--since', '2999-01-01T00:00:00Z')).rows).toEqual([]);
  });

  it('refuses bad audit arguments as usage errors', async () => {
    expect((await cli('audit')).code).toBe(2);
    expect((await cli('audit', 'tenant-a', '--limit', '0')).code).toBe(2);
    expect((await cli('audit', 'tenant-a', '--action', 'update')).code).toBe(2);
    expect((await cli('audit', 'tenant-a', '--since', 'yesterday')).code).toBe(2);
  });

  it('is append-only: the database refuses UPDATE and DELETE, except the retention purge', async () => {
    await s.server.audit.flush();
    await expect(s.server.database.dataSource.query(`UPDATE audit_log SET principal = 'someone-else'`)).rejects.toThrow(/append-only/);
    await expect(s.server.database.dataSource.query(`DELETE FROM audit_log`)).rejects.toThrow(/append-only/);
    const before = (await cli('audit', 'tenant-a')).rows.length;
    expect(before).toBeGreaterThan(0);
    expect(await s.server.audit.purge(new Date(Date.now() - 3_600_000))).toBe(0);
    expect(await s.server.audit.purge(new Date(Date.now() + 1000))).toBeGreaterThanOrEqual(before);
    expect((await cli('audit', 'tenant-a')).rows).toEqual([]);
  });

  it('keeps entries it could not write and writes them once the database is back', async () => {
    await s.server.database.dataSource.query(`ALTER TABLE audit_log RENAME TO audit_log_away`);
    try {
      await client(s.url, basic('bob')).get(`/tenant-a/collections/${RW}/objects/?match[type]=indicator`);
      await s.server.audit.flush(); // fails: the entry is kept
      expect(s.logs.some((l) => l['msg'] === 'audit flush failed; will retry')).toBe(true);
    } finally {
      await s.server.database.dataSource.query(`ALTER TABLE audit_log_away RENAME TO audit_log`);
    }
    expect((await cli('audit', 'tenant-a', '--principal', 'bob')).rows).toEqual([['bob', 'read', 'rw', 'objects', '1', '-', 'match[type]=indicator']]);
  });

  it('records writes but not reads with AUDIT_READS=false', async () => {
    const quiet = await startServer(STATE, { env: { AUDIT_READS: 'false' } });
    try {
      const alice = client(quiet.url, basic('alice'));
      await alice.post(`/tenant-a/collections/${RW}/objects/`, { objects: [indicator(indicatorId())] });
      await alice.get(`/tenant-a/collections/${RW}/objects/`);
      await quiet.server.audit.flush();
      expect((await quiet.server.audit.query('tenant-a', { limit: 10 })).map((a) => a.action)).toEqual(['add']);
    } finally {
      await quiet.close();
    }
  });
});
