import { describe, expect, it } from 'vitest';
import { clientAddress, normalizeAddress, TrustedProxies } from './client-address';

describe('clientAddress', () => {
  const proxies = new TrustedProxies(['10.0.0.0/8', '::1', '192.168.1.7']);

  it('is the socket peer when no proxy is trusted, whatever the headers say', () => {
    const none = new TrustedProxies([]);
    expect(clientAddress({ peer: '::ffff:127.0.0.1', forwardedFor: '1.2.3.4' }, none)).toBe('127.0.0.1');
  });

  it('ignores forwarding headers from a peer outside the trusted CIDRs', () => {
    expect(clientAddress({ peer: '203.0.113.9', forwardedFor: '1.2.3.4', forwarded: 'for=5.6.7.8' }, proxies)).toBe('203.0.113.9');
  });

  it('takes the nearest hop that is not a trusted proxy, so a client cannot forge its address', () => {
    expect(clientAddress({ peer: '10.1.2.3', forwardedFor: '6.6.6.6, 198.51.100.4' }, proxies)).toBe('198.51.100.4');
    expect(clientAddress({ peer: '10.1.2.3', forwardedFor: '198.51.100.4, 10.9.9.9' }, proxies)).toBe('198.51.100.4');
    expect(clientAddress({ peer: '10.1.2.3' }, proxies)).toBe('10.1.2.3');
  });

  it('reads RFC 7239 Forwarded (quoted, bracketed IPv6 with port) before X-Forwarded-For', () => {
    const forwarded = 'for=192.0.2.60;proto=https, for="[2001:db8:cafe::17]:4711"';
    expect(clientAddress({ peer: '::1', forwarded, forwardedFor: '9.9.9.9' }, proxies)).toBe('2001:db8:cafe::17');
  });

  it('stops at a hop that is no address, keeping the last trusted one', () => {
    expect(clientAddress({ peer: '10.1.2.3', forwarded: 'for=unknown' }, proxies)).toBe('10.1.2.3');
  });

  it('refuses a malformed TRUSTED_PROXIES entry, naming it', () => {
    expect(() => new TrustedProxies(['10.0.0.0/33'])).toThrow('"10.0.0.0/33"');
    expect(() => new TrustedProxies(['proxy.local'])).toThrow('proxy.local');
  });

  it('normalizes mapped, bracketed and ported forms', () => {
    expect(normalizeAddress('::FFFF:10.0.0.1')).toBe('10.0.0.1');
    expect(normalizeAddress('1.2.3.4:80')).toBe('1.2.3.4');
    expect(normalizeAddress('[::1]:80')).toBe('::1');
    expect(normalizeAddress('nope')).toBeUndefined();
  });
});
