import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DesiredState } from '@taxiway/domain';
import { SqlCatalogStore } from '@taxiway/store';
import { basic, client, principal, startServer, type RunningServer } from '../../../test/support/server';

const SHARED = '44444444-4444-4444-8444-444444444444';
const SECRET = '55555555-5555-4555-8555-555555555555';
const INBOX = '66666666-6666-4666-8666-666666666666';
const coll = (name: string, id: string, grants: DesiredState['collections'][number]['grants']): DesiredState['collections'][number] => ({
  name,
  apiRoot: 'trust',
  id,
  alias: name,
  title: name,
  description: undefined,
  mediaTypes: ['application/stix+json;version=2.1'],
  deletionPolicy: 'Retain',
  grants,
});

/** One trust group: members read everything but `secret`, and may write `inbox`; lead may read `secret`. */
const STATE: DesiredState = {
  apiRoots: [
    {
      name: 'trust',
      path: 'trust',
      title: 'Trust group',
      description: undefined,
      maxContentLength: 1_000_000,
      deletionPolicy: 'Retain',
      grants: [{ group: 'members', role: 'read' }],
    },
  ],
  collections: [
    coll('shared', SHARED, []),
    coll('secret', SECRET, [
      { group: 'members', read: false },
      { principal: 'lead', read: true },
    ]),
    coll('inbox', INBOX, [{ group: 'members', write: true }]),
  ],
  principals: [{ ...principal('m1'), groups: ['members'] }, { ...principal('lead'), groups: ['members'] }, principal('outsider')],
};

describe('grant model: groups, roles and collection overrides (issue 3)', () => {
  let s: RunningServer;
  beforeAll(async () => {
    s = await startServer(STATE);
  });
  afterAll(async () => {
    await s.close();
  });

  const view = async (user: string) => {
    const r = await client(s.url, basic(user)).get('/trust/collections/');
    return r.status === 200
      ? ((r.json['collections'] ?? []) as { alias: string; can_read: boolean; can_write: boolean }[]).map(
          (c) => `${c.alias}:${c.can_read ? 'r' : '-'}${c.can_write ? 'w' : '-'}`,
        )
      : r.status;
  };

  it('gives group members the group role, denies where a collection says so, and adds write where it grants it', async () => {
    expect(await view('m1')).toEqual(['shared:r-', 'inbox:rw']);
    expect((await client(s.url, basic('m1')).get(`/trust/collections/${SECRET}/objects/`)).status).toBe(404);
  });

  it("lets a principal's own override win over its group's deny", async () => {
    expect(await view('lead')).toEqual(['shared:r-', 'secret:r-', 'inbox:rw']);
    expect((await client(s.url, basic('lead')).get(`/trust/collections/${SECRET}/objects/`)).status).toBe(200);
  });

  it('shows nothing of the root to a principal outside the group', async () => {
    expect(await view('outsider')).toBe(404);
    expect((await client(s.url, basic('outsider')).get('/taxii2/')).json).not.toHaveProperty('api_roots');
  });

  it('re-applies without change, and removing a member from the group removes its access at once', async () => {
    const store = new SqlCatalogStore(s.server.database.dataSource);
    expect(await store.applyDesiredState(STATE, { prune: true })).toEqual({ created: [], updated: [], removed: [], retained: [] });
    const without = { ...STATE, principals: STATE.principals.map((p) => (p.name === 'm1' ? { ...p, groups: [] } : p)) };
    expect((await store.applyDesiredState(without, { prune: true })).updated).toEqual(['Principal/m1']);
    await s.server.catalog.reload();
    expect(await view('m1')).toBe(404);
    await s.server.apply(STATE);
    expect(await view('m1')).toEqual(['shared:r-', 'inbox:rw']);
  });
});
