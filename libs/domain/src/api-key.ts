/**
 * API keys look like `txw_<id>_<secret>`: a recognisable prefix (secret scanners and humans spot it),
 * a public id to find the key without scanning (12 chars of a–z0–9), and 256 random bits
 * (43 base64url characters). Only an argon2id hash of the whole key is ever stored.
 */
export const API_KEY_PREFIX = 'txw_';
const KEY_RE = /^txw_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

export function looksLikeApiKey(s: string): boolean {
  return s.startsWith(API_KEY_PREFIX);
}

/** The key id of a well-formed key, else undefined. */
export function apiKeyId(key: string): string | undefined {
  return KEY_RE.exec(key)?.[1];
}
