import { createHmac, timingSafeEqual } from 'node:crypto';
import { DomainError } from './errors';

/** What a `next` token carries: where the page ended, and the query it belongs to. */
export interface CursorState {
  /** Endpoint kind and scope: collection id and, for per-object endpoints, the object id. */
  readonly scope: string;
  /** The principal it was issued to: a token is not a capability another caller can use. */
  readonly principal: string;
  /** filterKey() of the original request. */
  readonly filter: string;
  readonly limit: number;
  /** Position: last (date_added µs, seq) handed out. */
  readonly dateAddedUs: number;
  readonly seq: number;
  /** Issue time, epoch seconds. */
  readonly issuedAt: number;
}

const b64 = (b: Buffer): string => b.toString('base64url');

/**
 * Stateless, signed `next` tokens (ADR 0002): base64url(JSON) + "." + truncated HMAC-SHA256. Any
 * replica holding the same key can verify them; they expire after `ttlSeconds`.
 */
export class CursorCodec {
  constructor(
    private readonly key: Buffer,
    private readonly ttlSeconds: number,
  ) {
    if (key.length < 16) throw new Error('cursor key must be at least 16 bytes');
  }

  encode(state: CursorState): string {
    const body = b64(Buffer.from(JSON.stringify([1, state.scope, state.principal, state.filter, state.limit, state.dateAddedUs, state.seq, state.issuedAt])));
    return `${body}.${this.sign(body)}`;
  }

  /** Verifies signature, shape and age; throws InvalidCursor (HTTP 400) otherwise. */
  decode(token: string, nowSeconds: number): CursorState {
    const dot = token.indexOf('.');
    if (dot <= 0 || token.length > 16384) throw invalid('malformed');
    const body = token.slice(0, dot);
    const sig = Buffer.from(token.slice(dot + 1), 'base64url');
    const want = Buffer.from(this.sign(body), 'base64url');
    if (sig.length !== want.length || !timingSafeEqual(sig, want)) throw invalid('bad signature');
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      throw invalid('malformed');
    }
    if (!Array.isArray(parsed) || parsed.length !== 8 || parsed[0] !== 1) throw invalid('unknown version');
    const [, scope, principal, filter, limit, dateAddedUs, seq, issuedAt] = parsed as [number, string, string, string, number, number, number, number];
    if (nowSeconds - issuedAt > this.ttlSeconds) throw invalid('expired');
    return { scope, principal, filter, limit, dateAddedUs, seq, issuedAt };
  }

  private sign(body: string): string {
    return b64(createHmac('sha256', this.key).update(body).digest().subarray(0, 18));
  }
}

function invalid(why: string): DomainError {
  return new DomainError('InvalidCursor', `The "next" value is not valid (${why}); restart paging without it`);
}
