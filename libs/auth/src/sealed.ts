import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Secrets the server must use, not only verify (a feed's upstream password, token or client key),
 * sealed for the database with AES-256-GCM (ADR 0017). A sealed value is
 * `v1.<key id>.<iv>.<ciphertext>.<tag>` (base64url parts): the key id says which key opens it, so
 * a key can be rotated while old rows are still readable; the context (for example `feed:<pk>`) is
 * authenticated, so a sealed value copied to another row does not open there.
 */
export class Sealer {
  private readonly keys = new Map<string, Buffer>();
  private readonly current: string;

  /** `keys`: 32-byte keys, the first one seals; every one opens. */
  constructor(keys: readonly Buffer[]) {
    const first = keys[0];
    if (first === undefined) throw new Error('a sealer needs at least one key');
    for (const k of keys) {
      if (k.length !== 32) throw new Error('a sealing key is 32 bytes');
      this.keys.set(keyId(k), k);
    }
    this.current = keyId(first);
  }

  /** A key from its base64 text (CREDENTIALS_KEY), refused unless it is 32 bytes. */
  static keyFromText(text: string): Buffer {
    const k = Buffer.from(text.trim(), 'base64');
    if (k.length !== 32) throw new Error('CREDENTIALS_KEY must be 32 bytes, base64-encoded');
    return k;
  }

  seal(plain: string, context: string): string {
    const key = this.keys.get(this.current) as Buffer;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return ['v1', this.current, iv.toString('base64url'), body.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
  }

  /** The plain text, or undefined when no key here opens it, it was altered, or it belongs to another context. */
  open(sealed: string, context: string): string | undefined {
    const [version, id, iv, body, tag, ...rest] = sealed.split('.');
    if (version !== 'v1' || id === undefined || iv === undefined || body === undefined || tag === undefined || rest.length > 0) return undefined;
    const key = this.keys.get(id);
    if (key === undefined) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  }

  /** True when the value was sealed with a key other than the current one (to re-seal after a rotation). */
  isStale(sealed: string): boolean {
    return sealed.split('.')[1] !== this.current;
  }
}

/** A short public name of a key: the first 8 bytes of its SHA-256, never the key. */
function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest().subarray(0, 8).toString('base64url');
}
