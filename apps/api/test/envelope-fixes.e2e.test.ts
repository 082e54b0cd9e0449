import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, client, startServer, TAXII, type Client, type RunningServer } from '../../../test/support/server';
import { indicator, indicatorId, RW, STATE } from './fixture';

const OBJ = `/tenant-a/collections/${RW}/objects/`;
const MAN = `/tenant-a/collections/${RW}/manifest/`;
const V1 = '2021-01-01T00:00:00.000Z';

/** A request with exactly these headers and body (fetch would add or drop some), answered status and text. */
function raw(url: string, method: string, headers: Record<string, string>, body?: string): Promise<{ status: number; text: string; contentType: string }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(url), { method, headers: { accept: TAXII, authorization: basic('alice'), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), contentType: res.headers['content-type'] ?? '' }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('Add Objects envelopes with non-object items, and Delete/Get with a Content-Type but no body', () => {
  let s: RunningServer;
  let alice: Client;

  beforeAll(async () => {
    s = await startServer(STATE);
    alice = client(s.url, basic('alice'));
  });
  afterAll(async () => {
    await s.close();
  });

  /** A fresh indicator stored in RW, for a test to delete. */
  async function stored(): Promise<string> {
    const id = indicatorId();
    expect((await alice.post(OBJ, { objects: [indicator(id, V1)] })).status).toBe(202);
    return id;
  }

  describe('Add Objects', () => {
    const good = indicatorId();
    it.each([
      ['numbers and strings', [42, 'x'], 0],
      ['a valid indicator followed by a number', [indicator(good, V1), 42], 1],
      ['null', [null], 0],
      ['a nested list', [[indicator(indicatorId(), V1)]], 0],
      ['a valid indicator followed by a string', [indicator(indicatorId(), V1), indicator(indicatorId(), V1), 'x'], 2],
    ])('refuses an envelope holding %s with 422 Unprocessable naming the first offending index, storing nothing', async (_what, objects, index) => {
      const before = (await alice.get(`${MAN}?limit=50&match[version]=all`)).text;
      const r = await alice.post(OBJ, { objects });
      expect(r.status).toBe(422);
      expect(r.headers.get('content-type')).toBe(TAXII);
      expect(r.json).toMatchObject({ http_status: '422', error_code: 'Unprocessable', details: { index } });
      expect(r.json['description']).toContain(`[${index}]`);
      expect((await alice.get(`${MAN}?limit=50&match[version]=all`)).text).toBe(before);
    });

    it('stores nothing of the valid indicator that came before a non-object', async () => {
      expect((await alice.get(`${OBJ}${good}/`)).status).toBe(404);
    });

    it('still answers 202 with a per-object failure for a JSON object that is not valid STIX', async () => {
      const ok = indicatorId();
      const r = await alice.post(OBJ, { objects: [indicator(ok, V1), { type: 'indicator', id: 'indicator--bad' }] });
      expect(r.status).toBe(202);
      expect(r.json).toMatchObject({ success_count: 1, failure_count: 1 });
      expect((await alice.get(`${OBJ}${ok}/`)).status).toBe(200);
    });

    it('still refuses an empty body with 400 BadRequest', async () => {
      const r = await alice.post(OBJ, '');
      expect(r.status).toBe(400);
      expect(r.json).toMatchObject({ http_status: '400', error_code: 'BadRequest' });
    });

    it('still refuses an empty body with an unsupported Content-Type with 415', async () => {
      const r = await alice.post(OBJ, '', { 'content-type': 'text/plain' });
      expect(r.status).toBe(415);
      expect(r.json).toMatchObject({ http_status: '415', error_code: 'UnsupportedMediaType' });
    });
  });

  describe('Delete an Object', () => {
    it.each([[TAXII], ['application/json'], ['text/plain']])('deletes with Content-Type %s and no body at all (200), and the object is gone', async (ct) => {
      const id = await stored();
      const r = await raw(s.url + `${OBJ}${id}/`, 'DELETE', { 'content-type': ct });
      expect(r.status).toBe(200);
      expect((await alice.get(`${OBJ}${id}/`)).status).toBe(404);
    });

    it.each([[TAXII], ['application/json']])('deletes with Content-Type %s and Content-Length: 0 (200), and the object is gone', async (ct) => {
      const id = await stored();
      const r = await raw(s.url + `${OBJ}${id}/`, 'DELETE', { 'content-type': ct, 'content-length': '0' });
      expect(r.status).toBe(200);
      expect((await alice.get(`${OBJ}${id}/`)).status).toBe(404);
    });

    it('deletes through fetch with a Content-Type and an empty body (200)', async () => {
      const id = await stored();
      const r = await alice.call('DELETE', `${OBJ}${id}/`, { body: '', headers: { 'content-type': TAXII } });
      expect(r.status).toBe(200);
      expect((await alice.get(`${OBJ}${id}/`)).status).toBe(404);
    });

    it.each([
      [TAXII, '{"objects":[]}'],
      ['application/json', '{}'],
      ['text/plain', 'x'],
    ])('refuses a DELETE with Content-Type %s and body %j with 400 BadRequest, deleting nothing', async (ct, body) => {
      const id = await stored();
      const r = await raw(s.url + `${OBJ}${id}/`, 'DELETE', { 'content-type': ct, 'content-length': String(Buffer.byteLength(body)) }, body);
      expect(r.status).toBe(400);
      expect(r.contentType).toBe(TAXII);
      expect(JSON.parse(r.text)).toMatchObject({ http_status: '400', error_code: 'BadRequest' });
      expect((await alice.get(`${OBJ}${id}/`)).status).toBe(200);
    });
  });

  describe('Get Objects', () => {
    it('answers 200 to a GET carrying a Content-Type and no body', async () => {
      const id = await stored();
      const r = await raw(s.url + `${OBJ}${id}/`, 'GET', { 'content-type': TAXII });
      expect(r.status).toBe(200);
      expect(r.text).toContain(id);
    });
  });
});
