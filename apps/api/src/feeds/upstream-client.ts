import type { FeedPageQuery, UpstreamPage } from '@taxiway/domain';
import type { IncomingHttpHeaders } from 'node:http';
import { request, type Agent } from 'undici';
import { addressProblem, pushAgent, type PushPolicy } from '../taxii1/push-address';
import { decodeUtf8 } from '../http/envelope';
import { MalformedPage, readPageEnvelope, type InvalidObject, type PageEnvelope } from './page-envelope';

export const TAXII21_MEDIA_TYPE = 'application/taxii+json;version=2.1';

/**
 * How the feed authenticates to the upstream, as resolved values (the feed holds only references).
 * Basic or a token, not both; a client certificate may come with either. Never logged, never in a
 * message.
 */
export interface UpstreamCredentials {
  readonly basic?: { readonly username: string; readonly password: string };
  /** `Authorization: Bearer <value>` or `Authorization: Token <value>` (API keys). */
  readonly token?: { readonly scheme: 'Bearer' | 'Token'; readonly value: string };
  /** A TLS client certificate and its key (PEM); `ca` (PEM) is the trust for the upstream's certificate. */
  readonly certificate?: { readonly cert: string; readonly key: string; readonly ca?: string };
}

export interface UpstreamOptions {
  /** Where the upstream may be: internal addresses refused unless allowed (the push delivery guard). */
  readonly policy: PushPolicy;
  readonly credentials?: UpstreamCredentials;
  /** Trust for the upstream's certificate (PEM) without a client certificate; replaces the system's CAs. */
  readonly ca?: string;
  /** Connecting, TLS handshake included. Default 10 s. */
  readonly connectTimeoutMs?: number;
  /** From the request sent to the answer's headers. Default 60 s. */
  readonly headersTimeoutMs?: number;
  /** Reading a whole answer body. Default 120 s. */
  readonly bodyTimeoutMs?: number;
  /** The largest answer body read; larger ones are refused while streaming. Default 64 MiB. */
  readonly maxPageBytes?: number;
  /** Media types of the target collection: objects of other STIX versions are invalid. Default STIX 2.1. */
  readonly mediaTypes?: readonly string[];
}

/** A page the upstream answered: what paging needs, and the valid objects as the exact text sent. */
export interface UpstreamObjects {
  readonly ok: true;
  readonly page: UpstreamPage;
  /** `X-TAXII-Date-Added-First`, as sent. */
  readonly dateAddedFirst?: string;
  /** The valid objects' JSON text, byte for byte as the upstream sent them, in envelope order. */
  readonly objects: string[];
  /** Objects of the page that are not valid STIX, skipped (they count in `page.count`). */
  readonly invalid: InvalidObject[];
}

/**
 * Why a request failed, as the puller acts on it:
 * - `auth`: 401/403, the feed's credentials are refused (Degraded, no tight retry);
 * - `cursor`: 400/404/410 to a request that carried `next` (the walk restarts from the mark);
 * - `throttled`: 429, with the wait the upstream asked for;
 * - `transient`: 5xx, connection failures, timeouts, an answer that is not an envelope (retry with backoff);
 * - `refused`: other answers, an address the policy refuses, a page over the size bound.
 */
export type UpstreamFailureKind = 'auth' | 'cursor' | 'throttled' | 'transient' | 'refused';

export interface UpstreamFailure {
  readonly ok: false;
  readonly kind: UpstreamFailureKind;
  readonly status?: number;
  readonly retryAfterMs?: number;
  /** Safe to log and show: never a credential, never a URL with userinfo or a query. */
  readonly message: string;
}

export type UpstreamAnswer = UpstreamObjects | UpstreamFailure;

/** A Get Objects request: the paging query (feed-cursor) and the feed's filters. */
export type ObjectsQuery = FeedPageQuery & {
  readonly matchType?: readonly string[];
  /** `match[version]`: default `all` (every version, as a mirror needs); `''` sends none. */
  readonly matchVersion?: string;
};

export type CollectionLookup = { readonly ok: true; readonly collectionUrl: string } | UpstreamFailure;

const DEFAULTS = { connectTimeoutMs: 10_000, headersTimeoutMs: 60_000, bodyTimeoutMs: 120_000, maxPageBytes: 64 * 1024 * 1024 };
const STIX21 = ['application/stix+json;version=2.1'];
/** The most of an error answer read for its message. */
const ERROR_BODY_BYTES = 16 * 1024;

/** An answer read whole: status, headers, body. */
interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Uint8Array;
}

/** A failure while reading, carried to the classifier. */
class ReadFailure extends Error {
  constructor(
    readonly kind: UpstreamFailureKind,
    message: string,
  ) {
    super(message);
  }
}

const header = (h: IncomingHttpHeaders, name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

/**
 * The wait a `Retry-After` value asks for, in ms: delay-seconds or an HTTP date (RFC 9110 §10.2.3);
 * undefined when absent or unreadable. A date in the past is no wait.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Math.min(Number(v), 7 * 24 * 3600) * 1000;
  if (!/[a-z]/i.test(v)) return undefined;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** A URL as messages may show it: scheme, host and path, no userinfo, no query. */
export function safeUrl(url: URL | string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(an invalid URL)';
  }
}

/** A TAXII 2.1 `…/collections/{id}/` URL with a trailing slash, refused with userinfo (credentials go in credentials). */
function baseUrl(text: string, what: string): URL {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new Error(`The ${what} is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`The ${what} must be http or https`);
  if (u.username !== '' || u.password !== '') throw new Error(`The ${what} carries credentials; give them as the feed's credentials instead`);
  u.search = '';
  u.hash = '';
  if (!u.pathname.endsWith('/')) u.pathname += '/';
  return u;
}

/**
 * A client of one upstream TAXII 2.1 collection for a feed: Get Objects pages, classified failures,
 * the objects' text untouched. Every connection goes through the push delivery address guard (the
 * address checked is the address connected to), with the feed's TLS client certificate and
 * timeouts; answers are read up to a size bound. Paging decisions are the caller's (feed-cursor).
 */
export class Taxii21Upstream {
  readonly collectionUrl: string;
  private readonly agent: Agent;
  private readonly authorization: string | undefined;
  private readonly secrets: string[];
  private readonly limits: typeof DEFAULTS;
  private closed = false;

  constructor(
    collectionUrl: string,
    private readonly options: UpstreamOptions,
  ) {
    this.collectionUrl = baseUrl(collectionUrl, 'upstream collection URL').href;
    const c = options.credentials ?? {};
    if (c.basic !== undefined && c.token !== undefined) throw new Error('An upstream takes Basic credentials or a token, not both');
    this.authorization = authorizationOf(c);
    this.secrets = secretsOf(c);
    this.limits = limitsOf(options);
    this.agent = pushAgent(options.policy, {
      headersTimeout: this.limits.headersTimeoutMs,
      bodyTimeout: this.limits.bodyTimeoutMs,
      connect: { timeout: this.limits.connectTimeoutMs, ...tlsOf(c, options.ca) },
    });
  }

  /**
   * The collection URL of the collection titled (or identified by) `titleOrId` under a discovery
   * URL: the default API root first, then the others listed at the discovery URL's origin (the
   * credentials go to no other host). Every request is checked by the same address policy (a
   * discovery answer cannot send the client to an internal address). A root that could not be read
   * makes a missing collection a transient failure, not a refusal.
   */
  static async resolveCollection(discoveryUrl: string, titleOrId: string, options: UpstreamOptions): Promise<CollectionLookup> {
    const client = new Taxii21Upstream(discoveryUrl, options);
    try {
      return await client.findCollection(titleOrId);
    } finally {
      await client.close();
    }
  }

  /**
   * Get Objects: `GET {collection}objects/?added_after&next&limit&match[type]&match[version]`.
   * Never throws. `match[version]` is `all` unless the query says otherwise: without it a TAXII 2.1
   * server answers only each object's latest version (the specification's default), and a mirror
   * would miss the versions superseded before it polled.
   */
  async getObjects(query: ObjectsQuery): Promise<UpstreamAnswer> {
    const url = objectsUrl(this.collectionUrl, query);
    const got = await this.get(url, query.next !== undefined);
    if (!got.ok) return got;
    try {
      return pageOf(got.answer, readPageEnvelope(got.answer.body, this.options.mediaTypes ?? STIX21));
    } catch (e) {
      if (e instanceof MalformedPage)
        return this.failure('transient', `${safeUrl(url)} answered something that is not a TAXII envelope: ${e.message}`, got.answer.status);
      throw e;
    }
  }

  /** Closes the connections (once; later calls do nothing). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.agent.close();
  }

  private async findCollection(titleOrId: string): Promise<CollectionLookup> {
    const discovery = await this.getJson(new URL(this.collectionUrl));
    if (!discovery.ok) return discovery;
    let transient: UpstreamFailure | undefined;
    for (const root of apiRootsOf(discovery.json, this.collectionUrl)) {
      const found = await this.collectionIn(root, titleOrId);
      if (found?.ok === false && found.kind === 'transient') transient ??= found;
      else if (found !== undefined) return found;
    }
    // A root that could not be read may hold it: say so rather than "no such collection".
    return transient ?? this.failure('refused', `No collection titled or identified "${titleOrId.slice(0, 200)}" under ${safeUrl(this.collectionUrl)}`);
  }

  /** The collection in this API root; a failure (a refused root is skipped as undefined); undefined when it is not there. */
  private async collectionIn(root: URL, titleOrId: string): Promise<CollectionLookup | undefined> {
    const collections = new URL('collections/', root);
    const got = await this.getJson(collections);
    if (!got.ok) return got.kind === 'refused' ? undefined : got;
    const list = got.json['collections'];
    const match = (Array.isArray(list) ? (list as unknown[]) : []).find(
      (c): c is Record<string, unknown> =>
        typeof c === 'object' && c !== null && ((c as Record<string, unknown>)['title'] === titleOrId || (c as Record<string, unknown>)['id'] === titleOrId),
    );
    if (match === undefined || typeof match['id'] !== 'string') return undefined;
    return { ok: true, collectionUrl: new URL(`${encodeURIComponent(match['id'])}/`, collections).href };
  }

  private async getJson(url: URL): Promise<{ ok: true; json: Record<string, unknown> } | UpstreamFailure> {
    const got = await this.get(url, false);
    if (!got.ok) return got;
    try {
      const json: unknown = JSON.parse(decodeUtf8(got.answer.body));
      if (typeof json === 'object' && json !== null && !Array.isArray(json)) return { ok: true, json: json as Record<string, unknown> };
    } catch {
      // Classified below.
    }
    return this.failure('transient', `${safeUrl(url)} answered something that is not a TAXII resource`, got.answer.status);
  }

  /** One GET, read whole within the bounds, or a classified failure. */
  private async get(url: URL, withNext: boolean): Promise<{ ok: true; answer: Answer } | UpstreamFailure> {
    const problem = addressProblem(url, this.options.policy);
    if (problem !== undefined) return this.failure('refused', `The address policy refuses ${safeUrl(url)}: ${problem}`);
    let answer: Answer;
    try {
      answer = await this.fetch(url);
    } catch (e) {
      return this.failure(...this.classifyError(e, url));
    }
    if (answer.status >= 200 && answer.status < 300) return { ok: true, answer };
    return this.statusFailure(url, answer, withNext);
  }

  private async fetch(url: URL): Promise<Answer> {
    const abort = new AbortController();
    const res = await request(url, {
      method: 'GET',
      headers: { accept: TAXII21_MEDIA_TYPE, 'user-agent': 'Taxiway feed', ...(this.authorization !== undefined && { authorization: this.authorization }) },
      dispatcher: this.agent,
      signal: abort.signal,
    });
    const ok = res.statusCode >= 200 && res.statusCode < 300;
    const max = ok ? this.limits.maxPageBytes : ERROR_BODY_BYTES;
    const declared = Number(header(res.headers, 'content-length'));
    if (ok && Number.isFinite(declared) && declared > max) {
      abort.abort();
      res.body.destroy();
      throw new ReadFailure('refused', `${safeUrl(url)} announced a ${declared}-byte page, over the ${max}-byte bound; lower the feed's page size`);
    }
    const timer = setTimeout(() => abort.abort(), this.limits.bodyTimeoutMs);
    try {
      const body = await readBounded(res.body, max, ok);
      if (body === undefined) {
        abort.abort();
        throw new ReadFailure('refused', `${safeUrl(url)} sent a page over the ${max}-byte bound; lower the feed's page size`);
      }
      return { status: res.statusCode, headers: res.headers, body };
    } finally {
      clearTimeout(timer);
    }
  }

  private classifyError(e: unknown, url: URL): [UpstreamFailureKind, string] {
    if (e instanceof ReadFailure) return [e.kind, e.message];
    const err = e as { code?: unknown; name?: unknown; message?: unknown };
    const code = typeof err.code === 'string' ? err.code : typeof err.name === 'string' ? err.name : undefined;
    const where = safeUrl(url);
    const message = typeof err.message === 'string' ? err.message.slice(0, 300) : String(e);
    const body: [UpstreamFailureKind, string] = ['transient', `${where} did not send its answer within ${this.limits.bodyTimeoutMs} ms`];
    const known: Partial<Record<string, [UpstreamFailureKind, string]>> = {
      EPUSHDENIED: ['refused', `The address policy refuses ${where}: ${message}`],
      UND_ERR_CONNECT_TIMEOUT: ['transient', `Connecting to ${where} timed out`],
      UND_ERR_HEADERS_TIMEOUT: ['transient', `${where} did not answer within ${this.limits.headersTimeoutMs} ms`],
      UND_ERR_BODY_TIMEOUT: body,
      UND_ERR_ABORTED: body,
      AbortError: body,
    };
    return (code !== undefined ? known[code] : undefined) ?? ['transient', `Requesting ${where} failed: ${code !== undefined ? `${code}: ` : ''}${message}`];
  }

  private statusFailure(url: URL, answer: Answer, withNext: boolean): UpstreamFailure {
    const s = answer.status;
    const said = errorText(answer.body);
    const msg = (what: string): string => `${safeUrl(url)} answered HTTP ${s}${what}${said !== undefined ? `: ${said}` : ''}`;
    if (s === 401 || s === 403) return this.failure('auth', msg(' (credentials refused)'), s);
    if (withNext && CURSOR_STATUSES.has(s)) return this.failure('cursor', msg(' to a request with next (cursor refused or expired)'), s);
    if (s === 429) {
      const retryAfterMs = parseRetryAfter(header(answer.headers, 'retry-after'));
      return { ...this.failure('throttled', msg(''), s), ...(retryAfterMs !== undefined && { retryAfterMs }) };
    }
    if (s >= 500) return this.failure('transient', msg(''), s);
    return this.failure('refused', msg(s < 400 ? ' (redirects are not followed)' : ''), s);
  }

  /** A failure whose message has every credential value removed, whatever echoed it. */
  private failure(kind: UpstreamFailureKind, message: string, status?: number): UpstreamFailure {
    return { ok: false, kind, ...(status !== undefined && { status }), message: scrub(message, this.secrets) };
  }
}

/**
 * The API roots a discovery answer lists, the default first, resolved against the discovery URL.
 * Only roots at the discovery URL's origin: the feed's credentials are never sent to another host
 * because a discovery answer names it (give such a collection's URL directly).
 */
function apiRootsOf(doc: Record<string, unknown>, discoveryUrl: string): URL[] {
  const listed: unknown[] = Array.isArray(doc['api_roots']) ? (doc['api_roots'] as unknown[]) : [];
  const origin = new URL(discoveryUrl).origin;
  const roots = new Map<string, URL>();
  for (const r of [doc['default'], ...listed]) {
    if (typeof r !== 'string') continue;
    try {
      const u = baseUrl(new URL(r, discoveryUrl).href, 'API root URL');
      if (u.origin === origin) roots.set(u.href, u);
    } catch {
      // Not a URL, or one with userinfo: not followed.
    }
  }
  return [...roots.values()];
}

/** Answers to a request with `next` that mean the cursor is refused or expired. */
const CURSOR_STATUSES: ReadonlySet<number> = new Set([400, 404, 410]);

/** `{collection}objects/?added_after&next&limit&match[type]`. */
function objectsUrl(collectionUrl: string, query: ObjectsQuery): URL {
  const url = new URL('objects/', collectionUrl);
  if (query.added_after !== undefined) url.searchParams.set('added_after', query.added_after);
  if (query.next !== undefined) url.searchParams.set('next', query.next);
  url.searchParams.set('limit', String(query.limit));
  if (query.matchType !== undefined && query.matchType.length > 0) url.searchParams.set('match[type]', query.matchType.join(','));
  if (query.matchVersion !== '') url.searchParams.set('match[version]', query.matchVersion ?? 'all');
  return url;
}

/** A page from an answer and its envelope: the date headers as sent. */
function pageOf(answer: Answer, env: PageEnvelope): UpstreamObjects {
  const first = header(answer.headers, 'x-taxii-date-added-first');
  const last = header(answer.headers, 'x-taxii-date-added-last');
  const page: UpstreamPage = {
    count: env.count,
    ...(env.more !== undefined && { more: env.more }),
    ...(env.next !== undefined && { next: env.next }),
    ...(last !== undefined && { dateAddedLast: last }),
  };
  return { ok: true, page, ...(first !== undefined && { dateAddedFirst: first }), objects: env.objects, invalid: env.invalid };
}

function limitsOf(o: UpstreamOptions): typeof DEFAULTS {
  return {
    connectTimeoutMs: o.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
    headersTimeoutMs: o.headersTimeoutMs ?? DEFAULTS.headersTimeoutMs,
    bodyTimeoutMs: o.bodyTimeoutMs ?? DEFAULTS.bodyTimeoutMs,
    maxPageBytes: o.maxPageBytes ?? DEFAULTS.maxPageBytes,
  };
}

/** The TLS connection options: the trusted CAs and the client certificate, if any. */
function tlsOf(c: UpstreamCredentials, ca: string | undefined): { ca?: string[]; cert?: string; key?: string } {
  const cas = [c.certificate?.ca, ca].filter((p): p is string => p !== undefined);
  return { ...(cas.length > 0 && { ca: cas }), ...(c.certificate !== undefined && { cert: c.certificate.cert, key: c.certificate.key }) };
}

/** The Authorization header for the credentials, if any. */
function authorizationOf(c: UpstreamCredentials): string | undefined {
  if (c.basic !== undefined) return `Basic ${Buffer.from(`${c.basic.username}:${c.basic.password}`, 'utf8').toString('base64')}`;
  if (c.token !== undefined) return `${c.token.scheme} ${c.token.value}`;
  return undefined;
}

/** Every text a message must not hold: passwords, tokens, the Basic header value, private keys. */
function secretsOf(c: UpstreamCredentials): string[] {
  const out: string[] = [];
  if (c.basic !== undefined) {
    out.push(c.basic.password, Buffer.from(`${c.basic.username}:${c.basic.password}`, 'utf8').toString('base64'), `${c.basic.username}:${c.basic.password}`);
  }
  if (c.token !== undefined) out.push(c.token.value);
  if (c.certificate !== undefined) out.push(c.certificate.key);
  return out.filter((s) => s !== '').sort((a, b) => b.length - a.length);
}

/** The message with each secret replaced and any `scheme://user:pass@` userinfo removed. */
export function scrub(message: string, secrets: readonly string[]): string {
  let m = message.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/\s@]*@/gi, '$1');
  for (const s of secrets) m = m.split(s).join('***');
  return m;
}

/** The title and description of a TAXII error answer, or a short text of another answer. */
function errorText(body: Uint8Array): string | undefined {
  const text = Buffer.from(body).toString('utf8').trim();
  if (text === '') return undefined;
  try {
    const e = JSON.parse(text) as { title?: unknown; description?: unknown };
    const parts = [e.title, e.description].filter((p): p is string => typeof p === 'string');
    if (parts.length > 0) return parts.join(' — ').slice(0, 300);
  } catch {
    // Not JSON: a short text of it.
  }
  return text.replace(/\s+/g, ' ').slice(0, 200);
}

/**
 * The body's bytes, or undefined as soon as they pass `max` (the stream is destroyed: no more is
 * read). An error answer's body is only read `max` bytes into (`whole` false): enough for a message.
 */
async function readBounded(body: AsyncIterable<Buffer> & { destroy(): void }, max: number, whole: boolean): Promise<Uint8Array | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > max) {
      body.destroy();
      if (!whole) {
        chunks.push(chunk.subarray(0, chunk.length - (size - max)));
        return Buffer.concat(chunks);
      }
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
