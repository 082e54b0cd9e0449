import { describe, expect, it } from 'vitest';
import { parseAuthorization } from './credentials';

const basic = (s: string): string => `Basic ${Buffer.from(s).toString('base64')}`;

describe('parseAuthorization', () => {
  it('parses Basic, keeping colons in the password', () => {
    expect(parseAuthorization(basic('alice:pa:ss'))).toEqual({ kind: 'basic', username: 'alice', password: 'pa:ss' });
  });
  it("parses Bearer and taxii2-client's Token scheme, case-insensitively", () => {
    expect(parseAuthorization('Bearer k1')).toEqual({ kind: 'key', key: 'k1' });
    expect(parseAuthorization('token k2')).toEqual({ kind: 'key', key: 'k2' });
  });
  it.each([undefined, '', 'Basic', 'Basic ', basic('nocolon'), 'Digest abc', 'Negotiate xyz'])('returns undefined for %j', (h) => {
    expect(parseAuthorization(h)).toBeUndefined();
  });
});
