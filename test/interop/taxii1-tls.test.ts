import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, makeTestPki } from '@taxiway/testing';
import { parseXml } from '@taxiway/taxii1';
import { basic, startServer, type RunningServer } from '../support/server';
import { discovery, headersFor } from '../support/taxii1';
import { STATE } from '../../apps/api/test/fixture';

const run = promisify(execFile);
const PYTHON = resolve(__dirname, '../../.venv-interop/bin/python');

describe('TLS at the server: client certificates authenticate TAXII 1.x and 2.1 clients', () => {
  let s: RunningServer;
  let dir: string;
  let base: string;
  const pem = (f: string): string => readFileSync(join(dir, f), 'utf8');
  const agent = (who?: 'alice' | 'impostor'): Agent =>
    new Agent({ connect: { ca: pem('ca.pem'), ...(who !== undefined && { cert: pem(`${who}.pem`), key: pem(`${who}.key`) }) } });
  const discover = async (a: Agent, auth?: string): Promise<{ status: number; protocol: string | null; root: string; addresses: string[] }> => {
    const r = await undiciFetch(`${base}/taxii1/tenant-a/discovery/`, {
      method: 'POST',
      headers: { ...headersFor('1.1'), 'x-taxii-protocol': 'urn:taxii.mitre.org:protocol:https:1.0', ...(auth !== undefined && { authorization: auth }) },
      body: discovery(),
      dispatcher: a,
    });
    const doc = parseXml(await r.text());
    const addresses = doc.children.map((si) => si.children.find((c) => c.local === 'Address')?.text ?? '');
    return { status: r.status, protocol: r.headers.get('x-taxii-protocol'), root: `${doc.local}${doc.attrs.get('status_type') ?? ''}`, addresses };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'taxiway-pki-'));
    makeTestPki(dir, { caName: 'Taxiway test CA', clients: [{ name: 'alice', cn: 'alice' }], impostorCn: 'alice' });
    const port = String(await freePort());
    base = `https://127.0.0.1:${port}`;
    s = await startServer(STATE, {
      env: {
        PORT: port,
        PUBLIC_BASE_URL: base,
        TLS_CERT_FILE: join(dir, 'server.pem'),
        TLS_KEY_FILE: join(dir, 'server.key'),
        TLS_CLIENT_CA_FILE: join(dir, 'ca.pem'),
      },
    });
  });
  afterAll(async () => {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('authenticates a certificate the client CA signed as the principal its CN names, over HTTPS', async () => {
    const r = await discover(agent('alice'));
    expect(r).toMatchObject({ status: 200, protocol: 'urn:taxii.mitre.org:protocol:https:1.0', root: 'Discovery_Response' });
    expect(r.addresses.every((a) => a.startsWith(`${base}/taxii1/tenant-a/`))).toBe(true);
  });

  it('refuses a self-signed certificate with the same CN, and no credentials at all', async () => {
    expect((await discover(agent('impostor'))).root).toBe('Status_MessageUNAUTHORIZED');
    expect((await discover(agent())).root).toBe('Status_MessageUNAUTHORIZED');
  });

  it('still lets clients without a certificate use Basic', async () => {
    expect((await discover(agent(), basic('alice'))).root).toBe('Discovery_Response');
  });

  it('authenticates TAXII 2.1 requests by certificate too', async () => {
    const r = await undiciFetch(`${base}/taxii2/`, { headers: { accept: 'application/taxii+json;version=2.1' }, dispatcher: agent('alice') });
    expect(r.status).toBe(200);
    expect(((await r.json()) as { api_roots: string[] }).api_roots).toEqual([`${base}/tenant-a/`]);
  });

  it('serves cabby with --cert/--key over HTTPS', async () => {
    const script = `
import sys
from cabby import create_client
c = create_client("127.0.0.1", port=int(sys.argv[1]), discovery_path="/taxii1/tenant-a/discovery/", use_https=True)
c.set_auth(ca_cert=sys.argv[2], cert_file=sys.argv[3], key_file=sys.argv[4], verify_ssl=sys.argv[2])
print(",".join(sorted(x.name for x in c.get_collections())))
`;
    // requests prefers REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE (set on this machine) over the session's CA: drop them.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'REQUESTS_CA_BUNDLE' && k !== 'CURL_CA_BUNDLE'));
    const { stdout } = await run(PYTHON, ['-c', script, new URL(base).port, join(dir, 'ca.pem'), join(dir, 'alice.pem'), join(dir, 'alice.key')], {
      timeout: 60_000,
      env,
    });
    expect(stdout.trim()).toBe('ro,rw');
  });
});
