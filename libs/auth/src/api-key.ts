import { randomBytes } from 'node:crypto';
import { hash } from '@node-rs/argon2';

/**
 * API keys look like `txw_<id>_<secret>`: a recognisable prefix (secret scanners and humans spot it),
 * a public id to find the key without scanning (12 chars of a–z0–9), and 256 random bits. Only an
 * argon2id hash of the whole key is stored; the key itself is shown once, when it is issued.
 */
export const API_KEY_PREFIX = 'txw_';
const KEY_RE = /^txw_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;
const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

export interface IssuedKey {
  readonly id: string;
  /** The full key: give it to the client, never store it. */
  readonly key: string;
  readonly secretHash: string;
}

export function looksLikeApiKey(s: string): boolean {
  return s.startsWith(API_KEY_PREFIX);
}

/** The key id of a well-formed key, else undefined. */
export function apiKeyId(key: string): string | undefined {
  return KEY_RE.exec(key)?.[1];
}

function randomId(): string {
  const bytes = randomBytes(12);
  let id = '';
  for (const b of bytes) id += ID_ALPHABET[b % ID_ALPHABET.length];
  return id;
}

export async function issueApiKey(): Promise<IssuedKey> {
  const id = randomId();
  const key = `${API_KEY_PREFIX}${id}_${randomBytes(32).toString('base64url')}`;
  return { id, key, secretHash: await hash(key) };
}
