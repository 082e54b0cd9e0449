import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueApiKey } from '@taxiway/auth';
import type { DesiredState } from '@taxiway/domain';
import { SqlAdminStore } from '@taxiway/store';
import { basic, client, principal, startServer, TAXII, type Res, type RunningServer } from '../../../test/support/server';
import { indicator, indicatorId } from './fixture';

/**
 * The two-tenant matrix of issue 3: every TAXII endpoint and method, called by principals of tenant A
 * with each role (and a write-only drop-box member), a principal of tenant B, an anonymous caller, a
 * wrong password and a revoked key. Each cell asserts the exact status, and every response is checked
 * for any byte of the other tenant's names, titles or ids.
 */
const A_INTEL = '0a0a0a0a-0000-4000-8000-00000000000a';
const A_DROP = '0a0a0a0a-0000-4000-8000-0000000000d0';
const B_INTEL = '0b0b0b0b-0000-4000-8000-00000000000b';
const MISSING = '0c0c0c0c-0000-4000-8000-00000000000c';

const coll = (name: string, apiRoot: string, id: string, grants: DesiredState['collections'][number]['grants'] = []) => ({
  name,
  apiRoot,
  id,
  alias: name,
  title: `${apiRoot} ${name} title`,
  description: `${apiRoot} ${name} description`,
  mediaTypes: ['application/stix+json;version=2.1'],
  deletionPolicy: 'Delete' as const,
  grants,
});
const root = (name: string, grants: DesiredState['apiRoots'][number]['grants']) => ({
  name,
  path: name,
  title: `${name} trust group`,
  description: undefined,
  maxContentLength: 100_000,
  deletionPolicy: 'Retain' as const,
  grants,
});

const STATE: DesiredState = {
  apiRoots: [
    root('alpha', [
      { principal: 'a-reader', role: 'read' },
      { principal: 'a-writer', role: 'write' },
      { principal: 'a-admin', role: 'admin' },
    ]),
    root('bravo', [{ principal: 'b-admin', role: 'admin' }]),
  ],
  collections: [coll('intel', 'alpha', A_INTEL), coll('drop', 'alpha', A_DROP, [{ principal: 'a-dropper', write: true }]), coll('intel', 'bravo', B_INTEL)],
  principals: ['a-reader', 'a-writer', 'a-admin', 'a-dropper', 'b-admin'].map((n) => principal(n)),
};

type Caller = 'a-reader' | 'a-writer' | 'a-admin' | 'a-dropper' | 'a-key' | 'b-admin' | 'anonymous' | 'wrong-password' | 'revoked-key';
const CALLERS: readonly Caller[] = ['a-reader', 'a-writer', 'a-admin', 'a-dropper', 'a-key', 'b-admin', 'anonymous', 'wrong-password', 'revoked-key'];
/** Callers that are not in tenant B and must never see a byte of it. */
const NOT_B: readonly Caller[] = CALLERS.filter((c) => c !== 'b-admin');

/** What each caller gets, in CALLERS order: a-reader a-writer a-admin a-dropper a-key b-admin anonymous wrong-password revoked-key. */
type Row = readonly [number, number, number, number, number, number, number, number, number];

interface Cell {
  readonly name: string;
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** The path, given the object ids prepared for this caller. */
  readonly path: (ids: Ids) => string;
  readonly body?: (ids: Ids) => unknown;
  readonly expect: Row;
}

interface Ids {
  /** An object in alpha/intel and in alpha/drop, fresh for each DELETE cell. */
  readonly aObject: string;
  readonly dropObject: string;
  readonly bObject: string;
  /** A status created by a-writer in alpha, and one created by b-admin in bravo. */
  readonly aStatus: string;
  readonly bStatus: string;
}

const E = 401; // every unauthenticated caller
/** Reading alpha/intel: every alpha role may; the drop-box member and tenant B may not even see it. */
const READ_INTEL: Row = [200, 200, 200, 404, 200, 404, E, E, E];

const CELLS: readonly Cell[] = [
  { name: 'discovery', method: 'GET', path: () => '/taxii2/', expect: [200, 200, 200, 200, 200, 200, E, E, E] },
  { name: 'API root', method: 'GET', path: () => '/alpha/', expect: [200, 200, 200, 200, 200, 404, E, E, E] },
  { name: 'collections', method: 'GET', path: () => '/alpha/collections/', expect: [200, 200, 200, 200, 200, 404, E, E, E] },
  { name: 'collection', method: 'GET', path: () => `/alpha/collections/${A_INTEL}/`, expect: READ_INTEL },
  { name: 'manifest', method: 'GET', path: () => `/alpha/collections/${A_INTEL}/manifest/`, expect: READ_INTEL },
  { name: 'objects', method: 'GET', path: () => `/alpha/collections/${A_INTEL}/objects/`, expect: READ_INTEL },
  { name: 'object', method: 'GET', path: (i) => `/alpha/collections/${A_INTEL}/objects/${i.aObject}/`, expect: READ_INTEL },
  { name: 'versions', method: 'GET', path: (i) => `/alpha/collections/${A_INTEL}/objects/${i.aObject}/versions/`, expect: READ_INTEL },
  {
    name: 'add objects',
    method: 'POST',
    path: () => `/alpha/collections/${A_INTEL}/objects/`,
    body: () => ({ objects: [indicator(indicatorId())] }),
    expect: [403, 202, 202, 404, 202, 404, E, E, E],
  },
  {
    name: 'delete object',
    method: 'DELETE',
    path: (i) => `/alpha/collections/${A_INTEL}/objects/${i.aObject}/`,
    expect: [403, 200, 200, 404, 200, 404, E, E, E],
  },
  { name: "a-writer's status", method: 'GET', path: (i) => `/alpha/status/${i.aStatus}/`, expect: [404, 200, 200, 404, 200, 404, E, E, E] },
  // The drop box: a-dropper may only write; the root roles still apply to the others.
  { name: 'drop-box collection', method: 'GET', path: () => `/alpha/collections/${A_DROP}/`, expect: [200, 200, 200, 200, 200, 404, E, E, E] },
  { name: 'drop-box objects', method: 'GET', path: () => `/alpha/collections/${A_DROP}/objects/`, expect: [200, 200, 200, 403, 200, 404, E, E, E] },
  { name: 'drop-box manifest', method: 'GET', path: () => `/alpha/collections/${A_DROP}/manifest/`, expect: [200, 200, 200, 403, 200, 404, E, E, E] },
  {
    name: 'drop-box add',
    method: 'POST',
    path: () => `/alpha/collections/${A_DROP}/objects/`,
    body: () => ({ objects: [indicator(indicatorId())] }),
    expect: [403, 202, 202, 202, 202, 404, E, E, E],
  },
  {
    name: 'drop-box delete',
    method: 'DELETE',
    path: (i) => `/alpha/collections/${A_DROP}/objects/${i.dropObject}/`,
    expect: [403, 200, 200, 403, 200, 404, E, E, E],
  },
  // Tenant B's resources: only b-admin gets them; to everyone else they are not there.
  { name: 'bravo root', method: 'GET', path: () => '/bravo/', expect: [404, 404, 404, 404, 404, 200, E, E, E] },
  { name: 'bravo collections', method: 'GET', path: () => '/bravo/collections/', expect: [404, 404, 404, 404, 404, 200, E, E, E] },
  { name: 'bravo objects', method: 'GET', path: () => `/bravo/collections/${B_INTEL}/objects/`, expect: [404, 404, 404, 404, 404, 200, E, E, E] },
  { name: 'bravo object', method: 'GET', path: (i) => `/bravo/collections/${B_INTEL}/objects/${i.bObject}/`, expect: [404, 404, 404, 404, 404, 200, E, E, E] },
  {
    name: 'bravo add',
    method: 'POST',
    path: () => `/bravo/collections/${B_INTEL}/objects/`,
    body: () => ({ objects: [indicator(indicatorId())] }),
    expect: [404, 404, 404, 404, 404, 202, E, E, E],
  },
  {
    name: 'bravo delete',
    method: 'DELETE',
    path: (i) => `/bravo/collections/${B_INTEL}/objects/${i.bObject}/`,
    expect: [404, 404, 404, 404, 404, 200, E, E, E],
  },
  { name: "b-admin's status", method: 'GET', path: (i) => `/bravo/status/${i.bStatus}/`, expect: [404, 404, 404, 404, 404, 200, E, E, E] },
  // Tenant B's ids smuggled under tenant A's root.
  {
    name: 'bravo collection under alpha',
    method: 'GET',
    path: () => `/alpha/collections/${B_INTEL}/objects/`,
    expect: [404, 404, 404, 404, 404, 404, E, E, E],
  },
  { name: 'bravo status under alpha', method: 'GET', path: (i) => `/alpha/status/${i.bStatus}/`, expect: [404, 404, 404, 404, 404, 404, E, E, E] },
];

/** Pairs of (another tenant's resource, a missing one): the answers must be indistinguishable. */
const LOOKALIKES: readonly [string, (i: Ids) => string, (i: Ids) => string][] = [
  ['API root', () => '/bravo/', () => '/nowhere/'],
  ['collections', () => '/bravo/collections/', () => '/nowhere/collections/'],
  ['collection', () => `/bravo/collections/${B_INTEL}/`, () => `/bravo/collections/${MISSING}/`],
  ['objects', () => `/bravo/collections/${B_INTEL}/objects/`, () => `/nowhere/collections/${MISSING}/objects/`],
  ['object', (i) => `/bravo/collections/${B_INTEL}/objects/${i.bObject}/`, () => `/nowhere/collections/${MISSING}/objects/indicator--${MISSING}/`],
  [
    'object id in own collection',
    (i) => `/alpha/collections/${A_INTEL}/objects/${i.bObject}/`,
    () => `/alpha/collections/${A_INTEL}/objects/indicator--${MISSING}/`,
  ],
  ['status', (i) => `/bravo/status/${i.bStatus}/`, () => `/bravo/status/${MISSING}/`],
  ['status under own root', (i) => `/alpha/status/${i.bStatus}/`, () => `/alpha/status/${MISSING}/`],
];

describe('two-tenant access matrix: every endpoint × method × caller (issue 3)', () => {
  let s: RunningServer;
  let auth: Record<Caller, string | undefined>;
  let bSecrets: string[];
  const aSecrets = ['alpha', A_INTEL, A_DROP];

  const call = (caller: Caller, method: string, path: string, body?: unknown): Promise<Res> =>
    client(s.url, auth[caller]).call(method, path, body === undefined ? {} : { body: JSON.stringify(body) });

  const addAs = async (auth_: string, path: string): Promise<{ objectId: string; statusId: string }> => {
    const objectId = indicatorId();
    const r = await client(s.url, auth_).post(path, { objects: [indicator(objectId)] });
    expect(r.status).toBe(202);
    return { objectId, statusId: String(r.json['id']) };
  };

  beforeAll(async () => {
    // The matrix sends dozens of wrong passwords and revoked keys: lift failed-login throttling,
    // which limits.e2e.test.ts covers, so that it does not turn the other cells into 429s.
    s = await startServer(STATE, { env: { AUTH_FAILURES_PER_MINUTE_PER_ADDRESS: '100000', AUTH_FAILURES_PER_MINUTE_PER_USER: '100000' } });
    const admin = new SqlAdminStore(s.server.database.dataSource);
    const live = await issueApiKey();
    const revoked = await issueApiKey();
    await admin.insertApiKey({ id: live.id, principal: 'a-writer', secretHash: live.secretHash });
    await admin.insertApiKey({ id: revoked.id, principal: 'a-admin', secretHash: revoked.secretHash });
    await admin.revokeApiKey(revoked.id);
    await s.server.catalog.reload();
    auth = {
      'a-reader': basic('a-reader'),
      'a-writer': basic('a-writer'),
      'a-admin': basic('a-admin'),
      'a-dropper': basic('a-dropper'),
      'a-key': `Bearer ${live.key}`,
      'b-admin': basic('b-admin'),
      anonymous: undefined,
      'wrong-password': basic('a-admin', 'not-the-password'),
      'revoked-key': `Bearer ${revoked.key}`,
    };
    const b = await addAs(basic('b-admin'), `/bravo/collections/${B_INTEL}/objects/`);
    bSecrets = ['bravo', B_INTEL, b.objectId, b.statusId];
  });
  afterAll(async () => {
    await s?.close();
  });

  /** Fresh objects and statuses for one caller's cell, so that a DELETE never depends on another. */
  const prepare = async (): Promise<Ids> => {
    const a = await addAs(basic('a-writer'), `/alpha/collections/${A_INTEL}/objects/`);
    const drop = await addAs(basic('a-writer'), `/alpha/collections/${A_DROP}/objects/`);
    const b = await addAs(basic('b-admin'), `/bravo/collections/${B_INTEL}/objects/`);
    return { aObject: a.objectId, dropObject: drop.objectId, bObject: b.objectId, aStatus: a.statusId, bStatus: b.statusId };
  };

  it.each(CELLS.map((c) => [c.method, c.name, c] as const))(
    '%s %s answers each caller with the exact status and nothing of the other tenant',
    async (...args) => {
      const cell = args[2];
      const got: number[] = [];
      for (const caller of CALLERS) {
        const ids = await prepare();
        const r = await call(caller, cell.method, cell.path(ids), cell.body?.(ids));
        got.push(r.status);
        expect(r.headers.get('content-type'), `${caller}: ${cell.name}`).toBe(TAXII);
        if (r.status >= 400) expect(r.json, `${caller}: error body`).toMatchObject({ http_status: String(r.status), title: expect.any(String) });
        if (r.status === 401) expect(r.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
        const foreign = caller === 'b-admin' ? aSecrets : [...bSecrets, ids.bObject, ids.bStatus];
        for (const secret of foreign) expect(r.text.includes(secret), `${caller} saw ${secret} in ${cell.name}`).toBe(false);
      }
      expect(Object.fromEntries(CALLERS.map((c, i) => [c, got[i]]))).toEqual(Object.fromEntries(CALLERS.map((c, i) => [c, cell.expect[i]])));
    },
  );

  it("answers every tenant-A caller for tenant B's resources exactly as for missing ones", async () => {
    const ids = await prepare();
    const strip = (r: Res) => ({ status: r.status, body: { ...r.json, error_id: undefined }, type: r.headers.get('content-type') });
    for (const caller of NOT_B) {
      for (const [what, theirs, missing] of LOOKALIKES) {
        const a = await call(caller, 'GET', theirs(ids));
        const b = await call(caller, 'GET', missing(ids));
        expect(strip(a), `${caller}: ${what}`).toEqual(strip(b));
      }
    }
  });

  it('never lists the other tenant in discovery or in collection lists', async () => {
    for (const caller of ['a-reader', 'a-writer', 'a-admin', 'a-dropper', 'a-key'] as const) {
      const d = await call(caller, 'GET', '/taxii2/');
      expect(d.json['api_roots']).toEqual(['https://taxii.example.test/alpha/']);
      const list = await call(caller, 'GET', '/alpha/collections/');
      const ids = ((list.json['collections'] ?? []) as { id: string }[]).map((c) => c.id);
      expect(ids).toEqual(caller === 'a-dropper' ? [A_DROP] : [A_INTEL, A_DROP]);
    }
    expect((await call('b-admin', 'GET', '/taxii2/')).json['api_roots']).toEqual(['https://taxii.example.test/bravo/']);
  });

  it("answers the drop-box member's collection flags as write-only", async () => {
    const r = await call('a-dropper', 'GET', `/alpha/collections/${A_DROP}/`);
    expect(r.json).toMatchObject({ id: A_DROP, can_read: false, can_write: true });
  });
});
