import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey, issueApiKey } from '@taxiway/auth';
import { parseDocumentsYaml, toDesiredState } from '@taxiway/control';
import type { DesiredState } from '@taxiway/domain';
import { SqlAdminStore, SqlCatalogStore } from '@taxiway/store';
import { client, startServer, type RunningServer } from '../../../test/support/server';
import { runCommand, type Io } from '../src/commands';

const yaml = (keys: string) => `
kind: ApiRoot
metadata: { name: soc }
spec: { grants: [{ principal: sentinel, role: read }] }
---
kind: Principal
metadata: { name: sentinel }
spec: { apiKeys: ${keys} }
`;

describe('API keys declared in the configuration by reference (issue 3)', () => {
  let s: RunningServer;
  let store: SqlCatalogStore;
  const k1 = generateApiKey();
  const k2 = generateApiKey();
  const env = { KEY1: k1.key, KEY2: k2.key };
  const state = (keys: string): DesiredState => toDesiredState(parseDocumentsYaml(yaml(keys)), { env });
  const BOTH = '[{ name: primary, keyFrom: { env: KEY1 } }, { name: rotation, keyFrom: { env: KEY2 }, expiresAt: "2099-01-01T00:00:00Z" }]';
  const status = async (key: string) => (await client(s.url, `Bearer ${key}`).get('/soc/')).status;
  const apply = async (keys: string) => {
    const report = await store.applyDesiredState(state(keys), { prune: true });
    await s.server.catalog.reload();
    return report;
  };

  beforeAll(async () => {
    s = await startServer(state(BOTH));
    store = new SqlCatalogStore(s.server.database.dataSource);
  });
  afterAll(async () => {
    await s?.close();
  });

  it('accepts declared keys as Bearer, Token and the Basic password, and re-applies without change', async () => {
    expect(await status(k1.key)).toBe(200);
    expect((await client(s.url, `Token ${k2.key}`).get('/soc/')).status).toBe(200);
    expect((await client(s.url, `Basic ${Buffer.from(`anyone:${k1.key}`).toString('base64')}`).get('/soc/')).status).toBe(200);
    expect(await apply(BOTH)).toEqual({ created: [], updated: [], removed: [], retained: [] });
  });

  it('revokes a key taken out of the configuration and leaves CLI-issued keys alone', async () => {
    const cli = await issueApiKey();
    await new SqlAdminStore(s.server.database.dataSource).insertApiKey({ id: cli.id, principal: 'sentinel', secretHash: cli.secretHash });
    await s.server.catalog.reload();
    expect((await apply('[{ name: rotation, keyFrom: { env: KEY2 } }]')).updated).toEqual(['Principal/sentinel']);
    expect(await status(k1.key)).toBe(401);
    expect(await status(k2.key)).toBe(200);
    expect(await status(cli.key)).toBe(200);
    const lines: string[] = [];
    const io: Io = { out: (l) => lines.push(l), err: () => undefined, env: {} };
    await runCommand(['key', 'list', '--principal', 'sentinel'], io, {
      admin: new SqlAdminStore(s.server.database.dataSource),
      catalog: new SqlCatalogStore(s.server.database.dataSource),
      audit: s.server.audit,
      taxii1: s.server.taxii1Store,
    });
    const revoked = lines.find((l) => l.startsWith(`${k1.id}\t`))?.split('\t')[5];
    expect(revoked).toMatch(/^\d{4}-/);
  });

  it('keeps a revoked key revoked when it is declared again (rotate instead)', async () => {
    await apply(BOTH);
    expect(await status(k1.key)).toBe(401);
  });

  it('refuses a configuration that claims a CLI-issued key id, and changes nothing', async () => {
    const cli = await issueApiKey();
    await new SqlAdminStore(s.server.database.dataSource).insertApiKey({ id: cli.id, principal: 'sentinel', secretHash: cli.secretHash });
    const bad = toDesiredState(parseDocumentsYaml(yaml('[{ keyFrom: { env: CLI } }]')), { env: { CLI: cli.key } });
    await expect(store.applyDesiredState(bad, { prune: true })).rejects.toThrow(/already in use/);
    await s.server.catalog.reload();
    expect(await status(k2.key)).toBe(200);
  });

  it('refuses a declared key that does not match its hash any more (wrong secret for a known id)', async () => {
    const forged = `${k2.key.slice(0, 17)}${'B'.repeat(43)}`;
    expect(await status(forged)).toBe(401);
  });
});
