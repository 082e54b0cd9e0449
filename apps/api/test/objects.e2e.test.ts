import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, client, startServer, TAXII, type Client, type RunningServer } from '../../../test/support/server';
import { indicator, indicatorId, MAX, RO, RW, STATE, TS_RE, UUID4_RE } from './fixture';

const OBJ = `/tenant-a/collections/${RW}/objects/`;
const MAN = `/tenant-a/collections/${RW}/manifest/`;

describe.each(['postgresql', 'pglite'] as const)('objects, manifest, versions, delete, status on %s (T21-OBJ/ADD/FLT/PAG/MAN/ONE/VER/DEL/STAT)', (backend) => {
  let s: RunningServer;
  let alice: Client;
  const v1 = '2021-01-01T00:00:00.000Z';
  const v2 = '2021-06-01T00:00:00.000Z';
  const v3 = '2022-01-01T00:00:00.000Z';
  const multi = indicatorId();
  const ids: string[] = [];

  beforeAll(async () => {
    s = await startServer(STATE, { backend, env: { MAX_PAGE_SIZE: '50', DEFAULT_PAGE_SIZE: '20' } });
    alice = client(s.url, basic('alice'));
    // 30 single-version indicators, a malware, and one indicator with three versions posted out of order.
    for (let i = 0; i < 30; i++) ids.push(indicatorId());
    const r = await alice.post(OBJ, { objects: ids.map((id) => indicator(id, v1)) });
    expect(r.status).toBe(202);
    await alice.post(OBJ, {
      objects: [
        indicator(multi, v2),
        { type: 'malware', spec_version: '2.1', id: 'malware--00000000-0000-4000-8000-0000000000aa', created: v1, modified: v1, name: 'm', is_family: true },
      ],
    });
    await alice.post(OBJ, { objects: [indicator(multi, v1)] });
    await alice.post(OBJ, { objects: [indicator(multi, v3)] });
  });
  afterAll(async () => {
    await s.close();
  });

  describe('Add Objects', () => {
    it('answers 202 with a complete status whose counts add up, storing valid objects beside invalid ones', async () => {
      const good = indicatorId();
      const r = await alice.post(OBJ, {
        objects: [indicator(good, v1), { type: 'indicator', id: 'indicator--bad' }, { id: indicatorId() }, indicator(indicatorId(), 'not-a-time')],
      });
      expect(r.status).toBe(202);
      expect(r.headers.get('content-type')).toBe(TAXII);
      const st = r.json;
      expect(st['id']).toMatch(UUID4_RE);
      expect(st['status']).toBe('complete');
      expect(st['request_timestamp']).toMatch(TS_RE);
      expect(st).toMatchObject({ total_count: 4, success_count: 1, failure_count: 3, pending_count: 0 });
      expect(st['successes']).toEqual([{ id: good, version: v1 }]);
      const failures = st['failures'] as { id: string; version: string; message: string }[];
      expect(failures.map((f) => f.message)).toEqual([
        expect.stringContaining('malformed "id"'),
        expect.stringContaining('"type"'),
        expect.stringContaining('"modified"'),
      ]);
      expect(st).not.toHaveProperty('pendings');
      expect((await alice.get(`${OBJ}${good}/`)).status).toBe(200);
    });

    it('stores the same version posted twice once and reports both posts as successes', async () => {
      const id = indicatorId();
      await alice.post(OBJ, { objects: [indicator(id, v1)] });
      const again = await alice.post(OBJ, { objects: [indicator(id, v1)] });
      expect(again.json).toMatchObject({ success_count: 1, failure_count: 0 });
      const versions = await alice.get(`${OBJ}${id}/versions/`);
      expect(versions.json['versions']).toEqual([v1]);
    });

    it('keeps the status retrievable by its creator only', async () => {
      const st = (await alice.post(OBJ, { objects: [indicator(indicatorId(), v1)] })).json;
      const r = await alice.get(`/tenant-a/status/${String(st['id'])}/`);
      expect(r.status).toBe(200);
      expect(r.json).toEqual(st);
      expect((await client(s.url, basic('bob')).get(`/tenant-a/status/${String(st['id'])}/`)).status).toBe(404);
      expect((await alice.get('/tenant-a/status/6b1d2c4e-0000-4000-8000-000000000000/')).status).toBe(404);
      expect((await alice.get('/tenant-a/status/not-a-uuid/')).status).toBe(404);
    });

    it.each([['application/taxii+json;version=2.1'], ['application/taxii+json'], ['application/stix+json;version=2.1'], ['application/json']])(
      'accepts Content-Type %s',
      async (ct) => {
        const r = await alice.post(OBJ, { objects: [indicator(indicatorId(), v1)] }, { 'content-type': ct });
        expect(r.status).toBe(202);
      },
    );

    it('accepts a STIX bundle in place of an envelope', async () => {
      const r = await alice.post(OBJ, { type: 'bundle', id: 'bundle--00000000-0000-4000-8000-000000000001', objects: [indicator(indicatorId(), v1)] });
      expect(r.status).toBe(202);
      expect(r.json['success_count']).toBe(1);
    });

    it.each([
      ['text/plain', 'hello', 415],
      ['application/taxii+json;version=2.0', '{"objects":[]}', 415],
      [TAXII, '{"objects": [', 400],
      [TAXII, '', 400],
      [TAXII, '[1,2]', 422],
      [TAXII, '{"objects": {}}', 422],
      [TAXII, '{"objects": []}', 422],
      [TAXII, '{"more": false}', 422],
      [TAXII, '{"__proto__": {"x": 1}, "objects": []}', 400],
    ])('refuses Content-Type %s body %j with %i and a TAXII error, storing nothing', async (ct, body, status) => {
      const before = (await alice.get(`${MAN}?limit=50&match[version]=all`)).text;
      const r = await alice.post(OBJ, body, { 'content-type': ct });
      expect(r.status).toBe(status);
      expect(r.headers.get('content-type')).toBe(TAXII);
      expect(r.json['http_status']).toBe(String(status));
      expect((await alice.get(`${MAN}?limit=50&match[version]=all`)).text).toBe(before);
    });

    it('accepts a body just under max_content_length and answers 413 above it, before reading it', async () => {
      const objects = [indicator(indicatorId(), v1, { description: '' })];
      const base = JSON.stringify({ objects });
      const pad = (size: number) => JSON.stringify({ objects: [{ ...objects[0], description: 'x'.repeat(size - base.length) }] });
      const under = pad(MAX - 1);
      expect(Buffer.byteLength(under)).toBe(MAX - 1);
      expect((await alice.post(OBJ, under)).status).toBe(202);
      const over = await alice.post(OBJ, pad(MAX + 1));
      expect(over.status).toBe(413);
      expect(over.json).toMatchObject({ http_status: '413', error_code: 'PayloadTooLarge' });
    });

    it('cuts off a chunked body without Content-Length at max_content_length with 413', async () => {
      const url = new URL(OBJ, s.url);
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(
          url,
          { method: 'POST', headers: { 'content-type': TAXII, accept: TAXII, authorization: basic('alice'), 'transfer-encoding': 'chunked' } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', (e) => (String(e).includes('EPIPE') || String(e).includes('ECONNRESET') ? resolve(413) : reject(e)));
        req.write('{"objects":[');
        for (let i = 0; i < 100 && !req.destroyed; i++) req.write(`"${'y'.repeat(1000)}",`);
        req.end('1]}');
      });
      expect(status).toBe(413);
    });

    it('refuses writes without a write grant (403) and hides collections without any grant (404)', async () => {
      expect((await client(s.url, basic('bob')).post(OBJ, { objects: [indicator(indicatorId(), v1)] })).status).toBe(403);
      expect((await alice.post(`/tenant-a/collections/${RO}/objects/`, { objects: [indicator(indicatorId(), v1)] })).status).toBe(403);
      expect((await client(s.url, basic('carol')).post(OBJ, { objects: [indicator(indicatorId(), v1)] })).status).toBe(202);
      expect((await client(s.url, basic('mallory')).post(OBJ, { objects: [indicator(indicatorId(), v1)] })).status).toBe(404);
    });
  });

  describe('Get Objects and filters', () => {
    it('returns an envelope with more and date-added headers equal to the first and last item', async () => {
      const r = await alice.get(`${OBJ}?limit=5`);
      expect(r.status).toBe(200);
      const objects = r.json['objects'] as { id: string }[];
      expect(objects).toHaveLength(5);
      expect(r.json['more']).toBe(true);
      const man = (await alice.get(`${MAN}?limit=5`)).json['objects'] as { id: string; date_added: string }[];
      expect(man.map((m) => m.id)).toEqual(objects.map((o) => o.id));
      expect(r.headers.get('x-taxii-date-added-first')).toBe(man[0]!.date_added);
      expect(r.headers.get('x-taxii-date-added-last')).toBe(man[4]!.date_added);
      expect(r.headers.get('x-taxii-date-added-first')).toMatch(TS_RE);
    });

    it('returns an empty envelope without date-added headers when nothing matches', async () => {
      const r = await alice.get(`${OBJ}?match[type]=grouping`);
      expect(r.status).toBe(200);
      expect(r.json).toEqual({ more: false });
      expect(r.headers.get('x-taxii-date-added-first')).toBeNull();
      expect(r.headers.get('x-taxii-date-added-last')).toBeNull();
    });

    it('returns only the latest version by default, and first/all/exact on request', async () => {
      const get = async (q: string) =>
        (((await alice.get(`${OBJ}?match[id]=${multi}${q}`)).json['objects'] ?? []) as { modified: string }[]).map((o) => o.modified);
      expect(await get('')).toEqual([v3]);
      expect(await get('&match[version]=last')).toEqual([v3]);
      expect(await get('&match[version]=first')).toEqual([v1]);
      expect(await get('&match[version]=all')).toEqual([v2, v1, v3]);
      expect(await get('&match[version]=first,last')).toEqual([v1, v3]);
      expect(await get('&match[version]=2021-06-01T00:00:00Z')).toEqual([v2]);
      expect(await get('&match[version]=2030-01-01T00:00:00Z')).toEqual([]);
    });

    it('filters by type and id lists (OR within a field, AND across fields) and by spec_version', async () => {
      const types = (await alice.get(`${OBJ}?match[type]=malware&limit=50`)).json['objects'] as { type: string }[];
      expect(types.map((o) => o.type)).toEqual(['malware']);
      const two = (await alice.get(`${OBJ}?match[id]=${ids[0]},${ids[1]}`)).json['objects'] as { id: string }[];
      expect(two.map((o) => o.id)).toEqual([ids[0], ids[1]]);
      expect((await alice.get(`${OBJ}?match[id]=${ids[0]}&match[type]=malware`)).json).toEqual({ more: false });
      expect(((await alice.get(`${OBJ}?match[id]=${ids[0]}&match[spec_version]=2.1`)).json['objects'] as unknown[]).length).toBe(1);
      expect((await alice.get(`${OBJ}?match[id]=${ids[0]}&match[spec_version]=2.0`)).json).toEqual({ more: false });
      expect((await alice.get(`${OBJ}?match[id]=${ids[0]}&match[foo]=bar`)).status).toBe(200);
    });

    it('compares added_after strictly against date_added', async () => {
      const man = (await alice.get(`${MAN}?limit=3`)).json['objects'] as { id: string; date_added: string }[];
      const r = await alice.get(`${OBJ}?added_after=${man[1]!.date_added}&limit=1`);
      expect((r.json['objects'] as { id: string }[])[0]!.id).toBe(man[2]!.id);
    });

    it.each([
      'limit=0',
      'limit=abc',
      'added_after=2020-13-01T00:00:00Z',
      'match[version]=all,last',
      'match[version]=last,last',
      'match[type]=a b',
      'match[spec_version]=x',
      'limit=1&limit=2',
      'next=garbage',
    ])('answers 400 for %s', async (q) => {
      const r = await alice.get(`${OBJ}?${q}`);
      expect(r.status).toBe(400);
      expect(r.headers.get('content-type')).toBe(TAXII);
    });

    it('caps limit above the server maximum instead of refusing it, and uses the default page size without limit', async () => {
      await alice.post(OBJ, { objects: Array.from({ length: 30 }, () => indicator(indicatorId(), v1)) });
      expect(((await alice.get(`${OBJ}?limit=100000`)).json['objects'] as unknown[]).length).toBe(50);
      expect(((await alice.get(OBJ)).json['objects'] as unknown[]).length).toBe(20);
    });

    it('refuses reads without a read grant (403)', async () => {
      expect((await client(s.url, basic('carol')).get(OBJ)).status).toBe(403);
      expect((await client(s.url, basic('carol')).get(MAN)).status).toBe(403);
    });
  });

  describe('paging', () => {
    const walk = async (c: Client, first: string, follow: (next: string) => string) => {
      const seen: string[] = [];
      let r = await c.get(first);
      for (let i = 0; i < 100; i++) {
        seen.push(...((r.json['objects'] as { id: string; modified?: string }[] | undefined) ?? []).map((o) => `${o.id}@${o.modified ?? ''}`));
        if (r.json['more'] !== true) break;
        expect(r.json['next']).toEqual(expect.any(String));
        r = await c.get(follow(String(r.json['next'])));
      }
      return seen;
    };

    it('walks every page with next alone (Elastic), with next plus the same filters (taxii2-client), and by header', async () => {
      const rows: { n: number }[] = await s.server.database.dataSource.query(
        `SELECT count(*)::int AS n FROM objects o JOIN collections c ON c.pk = o.collection_pk WHERE c.id = $1`,
        [RW],
      );
      const all = { length: rows[0]?.n ?? -1 };
      const nextOnly = await walk(alice, `${OBJ}?limit=7&match[version]=all`, (n) => `${OBJ}?next=${encodeURIComponent(n)}`);
      const withParams = await walk(alice, `${OBJ}?limit=7&match[version]=all`, (n) => `${OBJ}?limit=7&match[version]=all&next=${encodeURIComponent(n)}`);
      expect(nextOnly).toHaveLength(all.length);
      expect(new Set(nextOnly).size).toBe(all.length);
      expect(withParams).toEqual(nextOnly);
      const byHeader: string[] = [];
      let after: string | null = null;
      for (let i = 0; i < 100; i++) {
        const r = await alice.get(`${OBJ}?limit=7&match[version]=all${after === null ? '' : `&added_after=${after}`}`);
        byHeader.push(...((r.json['objects'] as { id: string; modified: string }[] | undefined) ?? []).map((o) => `${o.id}@${o.modified}`));
        if (r.json['more'] !== true) break;
        after = r.headers.get('x-taxii-date-added-last');
      }
      expect(byHeader).toEqual(nextOnly);
    });

    it('lets a client lower limit while following next (taxii2-client does)', async () => {
      const first = await alice.get(`${OBJ}?limit=10`);
      const r = await alice.get(`${OBJ}?limit=3&next=${encodeURIComponent(String(first.json['next']))}`);
      expect((r.json['objects'] as unknown[]).length).toBe(3);
    });

    it('refuses next with different filters, on another endpoint or collection, or from another caller (400)', async () => {
      const next = encodeURIComponent(String((await alice.get(`${OBJ}?limit=2&match[type]=indicator`)).json['next']));
      expect((await alice.get(`${OBJ}?next=${next}&match[type]=malware`)).status).toBe(400);
      expect((await alice.get(`${OBJ}?next=${next}&match[type]=indicator`)).status).toBe(200);
      expect((await alice.get(`${MAN}?next=${next}`)).status).toBe(400);
      expect((await alice.get(`/tenant-a/collections/${RO}/objects/?next=${next}`)).status).toBe(400);
      const bob = await client(s.url, basic('bob')).get(`${OBJ}?next=${next}`);
      expect(bob.status).toBe(400);
      expect(bob.json['error_code']).toBe('InvalidCursor');
    });

    it('pages the manifest and versions endpoints with next as well', async () => {
      const man = await walk(alice, `${MAN}?limit=4`, (n) => `${MAN}?next=${encodeURIComponent(n)}`);
      expect(man.length).toBeGreaterThan(30);
      const v = await alice.get(`${OBJ}${multi}/versions/?limit=2`);
      expect(v.json).toMatchObject({ more: true, versions: [v2, v1] });
      const rest = await alice.get(`${OBJ}${multi}/versions/?next=${encodeURIComponent(String(v.json['next']))}`);
      expect(rest.json).toEqual({ more: false, versions: [v3] });
    });
  });

  describe('manifest, one object, versions', () => {
    it('returns one manifest record per version with id, date_added, version and media_type', async () => {
      const r = await alice.get(`${MAN}?match[id]=${multi}&match[version]=all`);
      const recs = r.json['objects'] as Record<string, string>[];
      expect(recs.map((m) => m['version'])).toEqual([v2, v1, v3]);
      for (const m of recs) {
        expect(Object.keys(m).sort()).toEqual(['date_added', 'id', 'media_type', 'version']);
        expect(m['date_added']).toMatch(TS_RE);
        expect(m['media_type']).toBe('application/stix+json;version=2.1');
      }
      expect(r.headers.get('x-taxii-date-added-first')).toBe(recs[0]!['date_added']);
      expect(r.headers.get('x-taxii-date-added-last')).toBe(recs[2]!['date_added']);
      const mal = (await alice.get(`${MAN}?match[type]=malware`)).json['objects'] as { id: string }[];
      expect(mal.map((m) => m.id)).toEqual(['malware--00000000-0000-4000-8000-0000000000aa']);
    });

    it('gets one object: latest version by default, all versions on request, 404 when unknown', async () => {
      const one = await alice.get(`${OBJ}${multi}/`);
      expect((one.json['objects'] as { modified: string }[]).map((o) => o.modified)).toEqual([v3]);
      expect(one.headers.get('x-taxii-date-added-first')).toMatch(TS_RE);
      const all = await alice.get(`${OBJ}${multi}?match[version]=all`);
      expect((all.json['objects'] as unknown[]).length).toBe(3);
      expect((await alice.get(`${OBJ}indicator--99999999-9999-4999-8999-999999999999/`)).status).toBe(404);
      expect((await alice.get(`${OBJ}${multi}/?match[version]=2030-01-01T00:00:00Z`)).json).toEqual({ more: false });
    });

    it('lists versions ascending by date_added; 404 for an unknown object', async () => {
      const r = await alice.get(`${OBJ}${multi}/versions/`);
      expect(r.json).toEqual({ more: false, versions: [v2, v1, v3] });
      expect(r.headers.get('x-taxii-date-added-last')).toMatch(TS_RE);
      expect((await alice.get(`${OBJ}indicator--99999999-9999-4999-8999-999999999999/versions/`)).status).toBe(404);
    });

    it('serves the slash-less form of every path', async () => {
      expect((await alice.get(`/tenant-a/collections/${RW}/objects?limit=1`)).status).toBe(200);
      expect((await alice.get(`/tenant-a/collections/${RW}/objects/${multi}/versions`)).status).toBe(200);
    });
  });

  describe('Delete an Object', () => {
    it('enforces the permission table: no grant 404, read-only 403, write-only 403', async () => {
      const id = indicatorId();
      await alice.post(OBJ, { objects: [indicator(id, v1)] });
      expect((await client(s.url, basic('bob')).del(`${OBJ}${id}/`)).status).toBe(403);
      expect((await client(s.url, basic('carol')).del(`${OBJ}${id}/`)).status).toBe(403);
      expect((await client(s.url, basic('dave')).del(`${OBJ}${id}/`)).status).toBe(404);
      expect((await client(s.url, basic('mallory')).del(`${OBJ}${id}/`)).status).toBe(404);
    });

    it('deletes only the selected versions with match[version], everything without filters, and the object is gone', async () => {
      const id = indicatorId();
      await alice.post(OBJ, { objects: [indicator(id, v1), indicator(id, v2), indicator(id, v3)] });
      const d1 = await alice.del(`${OBJ}${id}/?match[version]=${v2}`);
      expect(d1.status).toBe(200);
      expect(d1.text).toBe('');
      expect(d1.headers.get('content-type')).toBe(TAXII);
      expect((await alice.get(`${OBJ}${id}/versions/`)).json['versions']).toEqual([v1, v3]);
      expect((await alice.del(`${OBJ}${id}/`)).status).toBe(200);
      expect((await alice.get(`${OBJ}${id}/`)).status).toBe(404);
      expect((await alice.get(`${MAN}?match[id]=${id}&match[version]=all`)).json).toEqual({ more: false });
      expect((await alice.del(`${OBJ}${id}/`)).status).toBe(404);
    });
  });
});
