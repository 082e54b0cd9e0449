/** A credential as presented in an Authorization header. */
export type Credential = { readonly kind: 'basic'; readonly username: string; readonly password: string } | { readonly kind: 'key'; readonly key: string };

/**
 * Parses `Authorization`: Basic (RFC 7617), `Bearer <key>` and `Token <key>` (taxii2-client's
 * TokenAuth). Returns undefined for a missing or unusable header: the caller answers 401.
 */
export function parseAuthorization(header: string | undefined): Credential | undefined {
  if (header === undefined) return undefined;
  const sp = header.indexOf(' ');
  if (sp <= 0) return undefined;
  const scheme = header.slice(0, sp).toLowerCase();
  const value = header.slice(sp + 1).trim();
  if (value === '') return undefined;
  if (scheme === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    return { kind: 'basic', username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (scheme === 'bearer' || scheme === 'token') return { kind: 'key', key: value };
  return undefined;
}
