import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { addressProblem, hostAllowed, isInternalAddress, pushAgent } from './push-address';

describe('hostAllowed', () => {
  it('allows any host without a list, else exact names and .suffixes', () => {
    expect(hostAllowed('10.0.0.1', [])).toBe(true);
    expect(hostAllowed('a.example.org', ['.example.org'])).toBe(true);
    expect(hostAllowed('example.org.evil', ['.example.org'])).toBe(false);
    expect(hostAllowed('INBOX.example.com', ['inbox.example.com'])).toBe(true);
  });
});

describe('push address policy', () => {
  it('knows internal addresses, IPv4-mapped ones included', () => {
    for (const a of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      'fd00::1',
      'fe80::1',
      '::ffff:127.0.0.1',
    ]) {
      expect(isInternalAddress(a)).toBe(true);
    }
    for (const a of ['8.8.8.8', '172.32.0.1', '2001:4860:4860::8888', '::ffff:8.8.8.8']) expect(isInternalAddress(a)).toBe(false);
  });

  it('refuses internal literals and localhost unless allowed privately or by name', () => {
    const none = { allowedHosts: [], allowPrivate: false };
    expect(addressProblem(new URL('http://127.0.0.1:9/x'), none)).toMatch(/internal/);
    expect(addressProblem(new URL('http://[::1]/x'), none)).toMatch(/internal/);
    expect(addressProblem(new URL('http://localhost/x'), none)).toMatch(/internal/);
    expect(addressProblem(new URL('http://inbox.example.com/x'), none)).toBeUndefined();
    expect(addressProblem(new URL('http://127.0.0.1/x'), { allowedHosts: [], allowPrivate: true })).toBeUndefined();
    expect(addressProblem(new URL('http://127.0.0.1/x'), { allowedHosts: ['127.0.0.1'], allowPrivate: false })).toBeUndefined();
    expect(addressProblem(new URL('http://other.example/x'), { allowedHosts: ['127.0.0.1'], allowPrivate: false })).toMatch(/ALLOWED_HOSTS/);
  });
});

describe('pushAgent', () => {
  it('keeps refusing names that resolve to internal addresses when given connection options, and applies the options', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const { port } = silent.address() as AddressInfo;
    const strict = pushAgent({ allowedHosts: [], allowPrivate: false }, { headersTimeout: 200, connect: { timeout: 1000 } });
    const open = pushAgent({ allowedHosts: [], allowPrivate: true }, { headersTimeout: 200, connect: { timeout: 1000 } });
    try {
      await expect(request(`http://${hostname()}:${port}/`, { dispatcher: strict })).rejects.toMatchObject({ code: 'EPUSHDENIED' });
      await expect(request(`http://${hostname()}:${port}/`, { dispatcher: open })).rejects.toMatchObject({ code: 'UND_ERR_HEADERS_TIMEOUT' });
    } finally {
      await Promise.all([strict.close(), open.close()]);
      silent.closeAllConnections();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });
});
