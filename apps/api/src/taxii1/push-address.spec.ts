import { describe, expect, it } from 'vitest';
import { addressProblem, hostAllowed, isInternalAddress } from './push-address';

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
