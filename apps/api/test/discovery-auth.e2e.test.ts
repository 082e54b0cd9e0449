import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, client, startServer, TAXII, type RunningServer } from '../../../test/support/server';
import { B1, MAX, RO, RW, STATE, UUID4_RE } from './fixture';

describe('discovery, API roots, collections, auth and negotiation (T21-DISC/ROOT/COLL/AUTH/HTTP)', () => {
  let s: RunningServer;
  beforeAll(async () => {
    s = await startServer(STATE);
  });
  afterAll(async () => {
    await s.close();
  });
  const as = (user: string | undefined) => client(s.url, user === undefined ? undefined : basic(user));

  it("discovery lists only the caller's API roots, as absolute URLs under PUBLIC_BASE_URL", async () => {
    const r = await as('alice').get('/taxii2/');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe(TAXII);
    expect(r.json).toEqual({
      title: 'Taxiway',
      description: 'Multi-tenant TAXII 2.1 server',
      default: 'https://taxii.example.test/tenant-a/',
      api_roots: ['https://taxii.example.test/tenant-a/'],
    });
    expect((await as('mallory').get('/taxii2')).json['api_roots']).toEqual(['https://taxii.example.test/tenant-b/']);
    const none = await as('dave').get('/taxii2/');
    expect(none.status).toBe(200);
    expect(none.json).not.toHaveProperty('api_roots');
  });

  it('answers 401 with WWW-Authenticate and a TAXII error for missing or wrong credentials', async () => {
    for (const r of [
      await as(undefined).get('/taxii2/'),
      await client(s.url, basic('alice', 'wrong')).get('/tenant-a/collections/'),
      await client(s.url, 'Bearer nope').get('/tenant-a/'),
    ]) {
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
      expect(r.headers.get('content-type')).toBe(TAXII);
      expect(r.json).toMatchObject({ title: 'Authentication required', http_status: '401', error_code: 'Unauthenticated' });
      expect(r.json['error_id']).toMatch(UUID4_RE);
    }
  });

  it('logs every error with the error_id it returned', async () => {
    const r = await as('alice').get('/tenant-a/collections/?x=1&limit=0');
    const id = (await as('alice').get('/tenant-a/collections/00000000-0000-4000-8000-000000000000/objects/?limit=0')).json['error_id'];
    expect(r.status).toBe(200);
    expect(s.logs.some((l) => l['error_id'] === id && l['status'] === 404)).toBe(true);
  });

  it('describes an API root', async () => {
    const r = await as('alice').get('/tenant-a/');
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ title: 'Tenant A', description: 'Trust group A', versions: [TAXII], max_content_length: MAX });
  });

  it("answers for another tenant's root, collection, object and status exactly as for missing ones", async () => {
    const alice = as('alice');
    const pairs: [string, string][] = [
      ['/tenant-b/', '/no-such-root/'],
      ['/tenant-b/collections/', '/no-such-root/collections/'],
      [`/tenant-b/collections/${B1}/objects/`, `/no-such-root/collections/${B1}/objects/`],
      [`/tenant-a/collections/${B1}/`, '/tenant-a/collections/44444444-4444-4444-8444-444444444444/'],
      ['/tenant-b/status/55555555-5555-4555-8555-555555555555/', '/tenant-a/status/55555555-5555-4555-8555-555555555555/'],
    ];
    for (const [theirs, missing] of pairs) {
      const a = await alice.get(theirs);
      const b = await alice.get(missing);
      expect(a.status, theirs).toBe(404);
      expect(b.status, missing).toBe(404);
      const strip = (j: Record<string, unknown>) => ({ ...j, error_id: undefined });
      expect(strip(a.json)).toEqual(strip(b.json));
      expect(a.text).not.toMatch(/tenant-b|B1|33333333/);
    }
  });

  it("lists visible collections with the caller's own can_read/can_write, in a stable order", async () => {
    const a = await as('alice').get('/tenant-a/collections/');
    expect(a.json).toEqual({
      collections: [
        {
          id: RW,
          title: 'Read-write',
          description: 'rw collection',
          alias: 'rw',
          can_read: true,
          can_write: true,
          media_types: ['application/stix+json;version=2.1'],
        },
        { id: RO, title: 'Read-only', can_read: true, can_write: false, media_types: ['application/stix+json;version=2.1'] },
      ],
    });
    expect((await as('alice').get('/tenant-a/collections')).text).toBe(a.text);
    expect((await as('bob').get('/tenant-a/collections/')).json['collections']).toEqual([
      expect.objectContaining({ id: RW, can_read: true, can_write: false }),
    ]);
    expect((await as('carol').get('/tenant-a/collections/')).json['collections']).toEqual([
      expect.objectContaining({ id: RW, can_read: false, can_write: true }),
    ]);
    expect((await as('dave').get('/tenant-a/collections/')).status).toBe(404);
  });

  it('answers {} for an API root without collections (no empty list)', async () => {
    const r = await as('eve').get('/empty/collections/');
    expect(r.status).toBe(200);
    expect(r.text).toBe('{}');
  });

  it('finds a collection by id (any case) and by alias', async () => {
    expect((await as('alice').get(`/tenant-a/collections/${RW}/`)).json['id']).toBe(RW);
    expect((await as('alice').get(`/tenant-a/collections/${RW.toUpperCase()}/`)).json['id']).toBe(RW);
    expect((await as('alice').get('/tenant-a/collections/rw/')).json['id']).toBe(RW);
    expect((await as('alice').get('/tenant-a/collections/nope/')).status).toBe(404);
  });

  it.each([
    'application/taxii+json;version=2.1',
    'application/taxii+json',
    'application/taxii+json; version=2.1',
    'application/json',
    '*/*',
    'application/json, text/plain, */*',
    'text/html;q=0.9, application/taxii+json;version=2.1;q=0.1',
  ])('serves Accept %j with the exact TAXII 2.1 content type', async (accept) => {
    const r = await as('alice').get('/tenant-a/', { accept });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe(TAXII);
  });

  it('answers 406 for an Accept that names only another TAXII version or another format', async () => {
    for (const accept of ['application/taxii+json;version=2.0', 'text/html']) {
      const r = await as('alice').get('/tenant-a/', { accept });
      expect(r.status).toBe(406);
      expect(r.headers.get('content-type')).toBe(TAXII);
      expect(r.json['http_status']).toBe('406');
    }
  });

  it("accepts the manifest endpoint's own two-type Accept list", async () => {
    const r = await as('alice').get(`/tenant-a/collections/${RW}/manifest/`, {
      accept: 'application/taxii+json;version=2.1,application/stix+json;version=2.1',
    });
    expect(r.status).toBe(200);
  });

  it('answers 405 with Allow for methods a resource does not define, and 404 for unknown paths', async () => {
    const r = await as('alice').call('PUT', `/tenant-a/collections/${RW}/objects/`);
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe('GET, POST');
    expect(r.headers.get('content-type')).toBe(TAXII);
    const d = await as('alice').call('DELETE', '/tenant-a/collections/');
    expect(d.status).toBe(405);
    const u = await as('alice').get('/tenant-a/collections/x/y/z/w/v/');
    expect(u.status).toBe(404);
    expect(u.json['http_status']).toBe('404');
  });

  it('serves health and readiness without credentials', async () => {
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
    const r = await fetch(`${s.url}/readyz`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ status: 'ready', checks: { database: true, migrations: true, catalog: true, accepting: true } });
  });

  it('picks up a changed configuration without a restart and drops revoked access', async () => {
    const without = {
      ...STATE,
      collections: STATE.collections.map((c) => (c.name === 'rw' ? { ...c, grants: c.grants.filter((g) => g.principal !== 'bob') } : c)),
    };
    await s.server.apply(without);
    expect((await as('bob').get('/tenant-a/')).status).toBe(404);
    await s.server.apply(STATE);
    expect((await as('bob').get('/tenant-a/')).status).toBe(200);
  });
});
