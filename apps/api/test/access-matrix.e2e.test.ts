import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DesiredState } from '@taxiway/domain';
import { SqlAdminStore, SqlCatalogStore } from '@taxiway/store';
import { runCommand } from '../../cli/src/commands';
import { collectionInfo, inbox, post, status } from '../../../test/support/taxii1';
import { basic, client, principal, startServer, type RunningServer } from '../../../test/support/server';
import { indicator } from './fixture';

// Depth: API e2e. One table of grant sources × operations, asserted over TAXII 2.1, TAXII 1.x and
// the CLI: every surface renders libs/auth's one decision.

const C = 'c0c0c0c0-0000-4000-8000-000000000001';
const OTHER = 'c0c0c0c0-0000-4000-8000-000000000002';

/** Expected decision: 'yes' allowed; 'no' visible but refused; 'hidden' answered as if missing. */
type D = 'yes' | 'no' | 'hidden';

/** Who, through which grant, and what they may do on collection `c` and with the admin's status. */
const ROWS: { who: string; grant: string; see: D; read: D; write: D; delete: D; status: D }[] = [
  { who: 'own-read', grant: 'own role read', see: 'yes', read: 'yes', write: 'no', delete: 'no', status: 'hidden' },
  { who: 'own-write', grant: 'own role write', see: 'yes', read: 'yes', write: 'yes', delete: 'yes', status: 'hidden' },
  { who: 'own-admin', grant: 'own role admin', see: 'yes', read: 'yes', write: 'yes', delete: 'yes', status: 'yes' },
  { who: 'group-read', grant: 'role read of a group', see: 'yes', read: 'yes', write: 'no', delete: 'no', status: 'hidden' },
  { who: 'group-admin', grant: 'role admin of a group', see: 'yes', read: 'yes', write: 'yes', delete: 'yes', status: 'yes' },
  { who: 'own-override', grant: 'own override read+write, no role', see: 'yes', read: 'yes', write: 'yes', delete: 'yes', status: 'hidden' },
  { who: 'own-deny', grant: 'own role write, own override read=false', see: 'yes', read: 'no', write: 'yes', delete: 'no', status: 'hidden' },
  {
    who: 'own-hide',
    grant: 'own role admin, own override read=false write=false',
    see: 'hidden',
    read: 'hidden',
    write: 'hidden',
    delete: 'hidden',
    status: 'yes',
  },
  { who: 'group-dropbox', grant: 'group override write, no role', see: 'yes', read: 'no', write: 'yes', delete: 'no', status: 'hidden' },
  { who: 'group-deny', grant: 'own role read, group override read=false', see: 'hidden', read: 'hidden', write: 'hidden', delete: 'hidden', status: 'hidden' },
  { who: 'own-beats-group', grant: 'group override read=false, own override read', see: 'yes', read: 'yes', write: 'no', delete: 'no', status: 'hidden' },
  { who: 'none', grant: 'no grant', see: 'hidden', read: 'hidden', write: 'hidden', delete: 'hidden', status: 'hidden' },
];

const STATE: DesiredState = {
  apiRoots: [
    {
      name: 'matrix',
      path: 'matrix',
      title: 'Matrix',
      description: undefined,
      maxContentLength: 1_000_000,
      deletionPolicy: 'Retain',
      grants: [
        { principal: 'own-read', role: 'read' },
        { principal: 'own-write', role: 'write' },
        { principal: 'own-admin', role: 'admin' },
        { principal: 'own-deny', role: 'write' },
        { principal: 'own-hide', role: 'admin' },
        { principal: 'group-deny', role: 'read' },
        { group: 'readers', role: 'read' },
        { group: 'admins', role: 'admin' },
      ],
    },
  ],
  collections: [
    {
      name: 'c',
      apiRoot: 'matrix',
      id: C,
      alias: undefined,
      title: 'C',
      description: undefined,
      mediaTypes: ['application/stix+json;version=2.1'],
      deletionPolicy: 'Delete',
      grants: [
        { principal: 'own-override', read: true, write: true },
        { principal: 'own-deny', read: false },
        { principal: 'own-hide', read: false, write: false },
        { group: 'droppers', write: true },
        { group: 'blocked', read: false },
        { principal: 'own-beats-group', read: true },
      ],
    },
    // A second collection the group-dropbox and own-override principals cannot see: the root stays visible through `c`.
    {
      name: 'other',
      apiRoot: 'matrix',
      id: OTHER,
      alias: undefined,
      title: 'Other',
      description: undefined,
      mediaTypes: ['application/stix+json;version=2.1'],
      deletionPolicy: 'Delete',
      grants: [],
    },
  ],
  principals: ROWS.map((r) => {
    const groups: Record<string, string[]> = {
      'group-read': ['readers'],
      'group-admin': ['admins'],
      'group-dropbox': ['droppers'],
      'group-deny': ['blocked'],
      'own-beats-group': ['blocked'],
    };
    return { ...principal(r.who), groups: groups[r.who] ?? [] };
  }),
};

const HTTP_21: Record<D, number> = { yes: 200, no: 403, hidden: 404 };
const TAXII_1X: Record<D, string> = { yes: 'allowed', no: 'UNAUTHORIZED', hidden: 'NOT_FOUND' };

describe('one access decision for TAXII 2.1, TAXII 1.x and the CLI (issue 11)', () => {
  let s: RunningServer;
  let adminStatus: string;
  beforeAll(async () => {
    s = await startServer(STATE);
    const r = await client(s.url, basic('own-admin')).post(`/matrix/collections/${C}/objects/`, { objects: [indicator(`indicator--${randomUUID()}`)] });
    adminStatus = String(r.json['id']);
  });
  afterAll(async () => {
    await s?.close();
  });

  describe.each(ROWS)('$who ($grant)', (row) => {
    const c21 = () => client(s.url, basic(row.who));
    const t1 = (path: string, body: string) => post(s.url, `/taxii1/matrix/${path}`, body, { auth: basic(row.who) });
    const outcome1 = (res: Awaited<ReturnType<typeof t1>>, ok: string): string => (res.root?.local === ok ? 'allowed' : (status(res).type ?? 'none'));

    it(`see: ${row.see}`, async () => {
      const r = await c21().get(`/matrix/collections/${C}/`);
      expect(r.status).toBe(row.see === 'yes' ? 200 : 404);
      const listed = ((await c21().get('/matrix/collections/')).json['collections'] as { id: string }[] | undefined) ?? [];
      expect(listed.some((x) => x.id === C)).toBe(row.see === 'yes');
      const info = await t1('collection-management/', collectionInfo());
      const names = [...info.text.matchAll(/collection_name="([^"]+)"/g)].map((m) => m[1]);
      expect(names.includes('c')).toBe(row.see === 'yes');
    });

    it(`read: ${row.read}`, async () => {
      expect((await c21().get(`/matrix/collections/${C}/objects/`)).status).toBe(HTTP_21[row.read]);
      expect((await c21().get(`/matrix/collections/${C}/manifest/`)).status).toBe(HTTP_21[row.read]);
      const poll = await t1(
        'poll/',
        `<taxii_11:Poll_Request xmlns:taxii_11="http://taxii.mitre.org/messages/taxii_xml_binding-1.1" message_id="m${randomUUID()}" collection_name="c"><taxii_11:Poll_Parameters allow_asynch="false"><taxii_11:Response_Type>COUNT_ONLY</taxii_11:Response_Type></taxii_11:Poll_Parameters></taxii_11:Poll_Request>`,
      );
      expect(outcome1(poll, 'Poll_Response')).toBe(TAXII_1X[row.read]);
    });

    it(`write: ${row.write}`, async () => {
      const r = await c21().post(`/matrix/collections/${C}/objects/`, { objects: [indicator(`indicator--${randomUUID()}`)] });
      expect(r.status).toBe(row.write === 'yes' ? 202 : HTTP_21[row.write]);
      const res = await t1('inbox/c/', inbox([{ content: `<stix:STIX_Package xmlns:stix="http://stix.mitre.org/stix-1" id="x:${randomUUID()}"/>` }]));
      const type = status(res).type;
      expect(type === 'SUCCESS' ? 'allowed' : type).toBe(TAXII_1X[row.write]);
    });

    it(`delete: ${row.delete}`, async () => {
      const id = `indicator--${randomUUID()}`;
      expect((await client(s.url, basic('own-admin')).post(`/matrix/collections/${C}/objects/`, { objects: [indicator(id)] })).status).toBe(202);
      expect((await c21().del(`/matrix/collections/${C}/objects/${id}/`)).status).toBe(HTTP_21[row.delete]);
    });

    it(`read-status (another's status): ${row.status}`, async () => {
      expect((await c21().get(`/matrix/status/${adminStatus}/`)).status).toBe(row.status === 'yes' ? 200 : 404);
    });

    it('the CLI prints the same decisions', async () => {
      const lines: string[] = [];
      const io = { out: (l: string) => lines.push(l), err: () => undefined, env: {} };
      const ds = s.server.database.dataSource;
      const stores = { admin: new SqlAdminStore(ds), catalog: new SqlCatalogStore(ds), audit: s.server.audit, taxii1: s.server.taxii1Store };
      expect(await runCommand(['grants', row.who], io, stores)).toBe(0);
      const line = lines.find((l) => l.startsWith('matrix\tc\t'))?.split('\t');
      if (row.see === 'hidden') {
        expect(line).toBeUndefined();
        return;
      }
      expect(line?.slice(3, 6)).toEqual([row.read, row.write, row.delete].map((d) => String(d === 'yes')));
    });
  });
});
