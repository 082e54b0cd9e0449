import { randomBytes } from 'node:crypto';
import { hash } from '@node-rs/argon2';
import { API_KEY_PREFIX } from '@taxiway/domain';

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

export interface IssuedKey {
  readonly id: string;
  /** The full key: give it to the client, never store it. */
  readonly key: string;
  readonly secretHash: string;
}

function randomId(): string {
  const bytes = randomBytes(12);
  let id = '';
  for (const b of bytes) id += ID_ALPHABET[b % ID_ALPHABET.length];
  return id;
}

/** A new random key and its id, not hashed (for `taxiway key generate`: the key goes into a Secret). */
export function generateApiKey(): { id: string; key: string } {
  const id = randomId();
  return { id, key: `${API_KEY_PREFIX}${id}_${randomBytes(32).toString('base64url')}` };
}

export async function issueApiKey(): Promise<IssuedKey> {
  const { id, key } = generateApiKey();
  return { id, key, secretHash: await hash(key) };
}
