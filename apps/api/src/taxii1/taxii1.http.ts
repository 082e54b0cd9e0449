import { Readable } from 'node:stream';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Authenticator, Refusal } from '@taxiway/auth';
import type { Config } from '@taxiway/config';
import type { ApiRootInfo, CollectionInfo, PrincipalInfo, StoredBlock, Taxii1Store } from '@taxiway/domain';
import type { ApiMetrics } from '@taxiway/metrics';
import { databaseUnavailable } from '@taxiway/store';
import {
  BadMessage,
  MESSAGE_BINDING,
  PROTOCOL_HTTP,
  PROTOCOL_HTTPS,
  PROTOCOLS,
  SERVICES,
  parseRequest,
  serializeAround,
  serializeBlocks,
  serializeMessage,
  versionOfBinding,
  versionOfServices,
  type StatusMessage,
  type Taxii1Request,
  type Taxii1Version,
} from '@taxiway/taxii1';
import type { CatalogService } from '../catalog/catalog.service';
import { readBody, readPrefix, type BodyPolicy, type BodyRead } from '../http/body';
import { requestFacts } from '../tenancy/request-facts';
import { TAXII1_ANSWER_HTTP, TAXII1_OPTIONS_HTTP, taxii1LoginError, type Taxii1MessageCode } from './taxii1-error.map';
import { Taxii1Status, toContentBlock, type PollAnswer, type Taxii1Answer, type Taxii1Service, type Taxii1ServiceName } from './taxii1.service';

export interface Taxii1HttpDeps {
  readonly service: Taxii1Service;
  readonly store: Taxii1Store;
  readonly catalog: CatalogService;
  readonly auth: Authenticator;
  readonly config: Config;
  readonly metrics: ApiMetrics | undefined;
}

/** A body not read whole: over the limit, or arriving too slowly. */
export type BodyProblem = Exclude<BodyRead, { kind: 'ok' }>;

/** Body limit of a TAXII 1.x request to an API root that does not exist. */
export const TAXII1_DEFAULT_LIMIT = 1024 * 1024;

/** Body limit of the JWT login endpoint: a username and a password. */
const LOGIN_LIMIT = 16 * 1024;

/** Of an unauthenticated caller's message only this much is read: enough to find its message id. */
const PEEK_BYTES = 4096;

/** Paths served by this module: the tenancy hook leaves their authentication and errors to it. */
export function isTaxii1Path(url: string): boolean {
  return url.startsWith('/taxii1/') || url === '/management/auth' || url.startsWith('/management/auth?');
}

const SERVICE_NAMES: readonly Taxii1ServiceName[] = ['discovery', 'collection-management', 'inbox', 'poll'];
const STREAM_BATCH = 500;

/** What the headers of a request say: the version to read it in and to answer in. */
interface Negotiated {
  /** The version of the request message. */
  readonly version: Taxii1Version;
  /** The versions the answer may be in, most preferred first: those of X-TAXII-Accept we write, else the request's. */
  readonly accepted: readonly Taxii1Version[];
  readonly https: boolean;
}

/** A failure before the message could be read: answered in `version`, under the status's HTTP status. */
class EarlyAnswer extends Error {
  constructor(
    readonly version: Taxii1Version,
    readonly status: Taxii1Status,
  ) {
    super(status.message);
  }
}

/**
 * Mounts the TAXII 1.0/1.1 services of every API root: `POST /taxii1/{root}/{discovery,
 * collection-management,inbox,poll}/`, a collection's own inbox at `/taxii1/{root}/inbox/{name}/`,
 * and the JWT login at `/taxii1/auth` (also `/management/auth`, OpenTAXII's path that cabby users
 * have configured). Every answer is a TAXII message with the X-TAXII headers, HTTP 200 for every
 * TAXII-level outcome (cabby does not read the body of any other status); the few transport
 * refusals and the login errors take the HTTP status of their code in taxii1-error.map.ts.
 */
export function installTaxii1(fastify: FastifyInstance, deps: Taxii1HttpDeps): void {
  // Authenticated before any body byte is read: an unauthenticated caller's body is never buffered.
  fastify.decorateRequest('taxii1Auth', null);
  fastify.addHook('onRequest', async (req: FastifyRequest) => {
    if (req.url.startsWith('/taxii1/') && !isLoginPath(req.url)) req.taxii1Auth = await authenticate(req, deps);
  });
  for (const name of SERVICE_NAMES) {
    fastify.post(`/taxii1/:apiRoot/${name}`, (req, reply) => exchange(req, reply, deps, name));
    fastify.route({ method: ['GET', 'PUT', 'DELETE', 'PATCH'], url: `/taxii1/:apiRoot/${name}`, handler: notPost });
  }
  fastify.post('/taxii1/:apiRoot/inbox/:collection', (req, reply) => exchange(req, reply, deps, 'inbox'));
  fastify.route({ method: ['GET', 'PUT', 'DELETE', 'PATCH'], url: '/taxii1/:apiRoot/inbox/:collection', handler: notPost });
  // Any other path under /taxii1/ is no TAXII service: say so as TAXII, not as a TAXII 2.1 JSON error.
  fastify.route({ method: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'], url: '/taxii1/*', handler: noService });
  fastify.route({ method: 'OPTIONS', url: '/taxii1/*', handler: options });
  fastify.post('/taxii1/auth', (req, reply) => login(req, reply, deps));
  fastify.post('/management/auth', (req, reply) => login(req, reply, deps));
}

async function noService(req: FastifyRequest, reply: FastifyReply): Promise<void> {
  const version = sniffVersion(req.headers, req.body);
  const status = new Taxii1Status('NO_SERVICE', 'There is no TAXII service at this address; discovery is at /taxii1/{api-root}/discovery/');
  await sendAnswer(reply.code(status.httpStatus), { version, https: transportIsHttps(req), answer: status.toMessage(), inResponseTo: '0' });
}

/** OPTIONS, as OpenTAXII answers it: the services take POST. */
async function options(_req: FastifyRequest, reply: FastifyReply): Promise<void> {
  await reply.code(TAXII1_OPTIONS_HTTP).header('allow', 'POST, OPTIONS').send();
}

async function notPost(req: FastifyRequest, reply: FastifyReply): Promise<void> {
  const version = sniffVersion(req.headers, undefined);
  const status = new Taxii1Status('METHOD_NOT_ALLOWED', 'TAXII 1.x services take HTTP POST only');
  await sendAnswer(reply.code(status.httpStatus).header('allow', 'POST'), {
    version,
    https: transportIsHttps(req),
    answer: status.toMessage(),
    inResponseTo: '0',
  });
}

/** What one exchange answers, and with what HTTP status; `message` names the request for the metrics. */
interface Outcome {
  readonly version: Taxii1Version;
  readonly https: boolean;
  readonly http: number;
  readonly answer: Taxii1Answer;
  readonly inResponseTo: string;
  readonly message: string;
}

async function exchange(req: FastifyRequest, reply: FastifyReply, deps: Taxii1HttpDeps, service: Taxii1ServiceName): Promise<void> {
  const o = await outcome(req, deps, service);
  count(deps, { root: (req.params as { apiRoot: string }).apiRoot, version: o.version, message: o.message, answer: answerLabel(o.answer) });
  await sendAnswer(reply.code(o.http), o, deps.store);
}

/**
 * Headers first (they say how to read and answer), then credentials, then the message. An
 * unauthenticated caller is told UNAUTHORIZED whatever else is wrong (digest §7.2.2 step 1).
 */
async function outcome(req: FastifyRequest, deps: Taxii1HttpDeps, service: Taxii1ServiceName): Promise<Outcome> {
  let neg: Negotiated;
  try {
    neg = negotiate(req);
  } catch (e) {
    if (!(e instanceof EarlyAnswer)) throw e;
    return { version: e.version, https: transportIsHttps(req), http: e.status.httpStatus, answer: e.status.toMessage(), inResponseTo: '0', message: 'unknown' };
  }
  const auth = req.taxii1Auth ?? (await authenticate(req, deps));
  if (auth.principal === undefined) {
    // An unauthenticated message is not parsed: its id is looked for in its first bytes only.
    const peeked = peekMessageId(req.body);
    const version = answerVersion(neg.accepted, peeked);
    return {
      version,
      https: neg.https,
      inResponseTo: inResponseTo(peeked, version),
      http: auth.refusal.httpStatus,
      answer: auth.refusal.toMessage(),
      message: 'unknown',
    };
  }
  const read = readMessage(req.body, neg.version, deps.config);
  const answer = answerVersion(neg.accepted, read.messageId);
  const base = { version: answer, https: neg.https, inResponseTo: inResponseTo(read.messageId, answer) };
  if (read.msg === undefined) return { ...base, http: read.status.httpStatus, answer: read.status.toMessage(), message: 'unknown' };
  // Answered in another version than asked (X-TAXII-Accept): the exchange follows the answer's rules.
  const msg = { ...read.msg, version: answer };
  return { ...base, http: TAXII1_ANSWER_HTTP, answer: await handle(req, deps, { service, msg, principal: auth.principal }), message: read.msg.kind };
}

/** The message_id attribute in the first 4 KiB of a body, without parsing it (for refusals before reading). */
function peekMessageId(body: unknown): string | undefined {
  if (!Buffer.isBuffer(body)) return undefined;
  const m = /<[A-Za-z_][\w.-]*:?[\w.-]*\s[^>]*?\bmessage_id\s*=\s*(?:"([^"<&]{1,200})"|'([^'<&]{1,200})')/.exec(body.subarray(0, 4096).toString('utf8'));
  return (m?.[1] ?? m?.[2])?.trim();
}

/** The request's message id as the answer can carry it: a TAXII 1.0 answer takes digits only (else `0`). */
function inResponseTo(messageId: string | undefined, answer: Taxii1Version): string {
  if (messageId === undefined) return '0';
  return answer === '1.0' && !/^[0-9]+$/.test(messageId) ? '0' : messageId;
}

type Read =
  | { readonly msg: Taxii1Request; readonly messageId: string }
  | { readonly msg?: undefined; readonly status: Taxii1Status; readonly messageId: string | undefined };

/** The request's message, or the BAD_MESSAGE it earns (TOO_LARGE for a body over the limit). */
function readMessage(body: unknown, version: Taxii1Version, config: Config): Read {
  if (!Buffer.isBuffer(body)) return { status: bodyProblemStatus(body), messageId: undefined };
  try {
    const msg = parseRequest(body, version, { maxDepth: config.taxii1.maxDepth, maxElements: config.taxii1.maxElements });
    return { msg, messageId: msg.messageId };
  } catch (e) {
    if (!(e instanceof BadMessage)) throw e;
    return { status: new Taxii1Status('BAD_MESSAGE', e.message), messageId: e.messageId };
  }
}

function bodyProblemStatus(body: unknown): Taxii1Status {
  const problem = typeof body === 'object' && body !== null ? (body as Partial<BodyProblem>) : undefined;
  if (problem?.kind === 'too-large') return new Taxii1Status('TOO_LARGE', `The message exceeds this API root's limit of ${problem.limit} bytes`);
  if (problem?.kind === 'too-slow') {
    return new Taxii1Status('TOO_SLOW', `The message arrived slower than ${problem.minBytesPerSecond} bytes/s and was cut off`);
  }
  return new Taxii1Status('BAD_MESSAGE', 'The request has no body');
}

/** Runs the exchange for an authenticated caller; any failure becomes a Status Message. */
async function handle(
  req: FastifyRequest,
  deps: Taxii1HttpDeps,
  x: { service: Taxii1ServiceName; msg: Taxii1Request; principal: PrincipalInfo },
): Promise<Taxii1Answer> {
  const params = req.params as { apiRoot: string; collection?: string };
  try {
    const root = visibleRoot(deps.catalog, params.apiRoot, x.principal);
    // For the request log (principal and API root); no collection, so the 2.1 byte counters stay out of it.
    req.taxii = { principal: x.principal, root };
    const inboxCollection = params.collection === undefined ? undefined : ownInbox(deps, root, x.principal, params.collection);
    const client = /^cabby\b/i.test(header(req, 'user-agent') ?? '') ? 'cabby' : undefined;
    return await deps.service.handle(x.msg, { principal: x.principal, root, service: x.service, inboxCollection, client });
  } catch (e) {
    return failureAnswer(e, req.log, req.id);
  }
}

function failureAnswer(e: unknown, log: FastifyBaseLogger, requestId: string): StatusMessage {
  if (e instanceof Taxii1Status) return e.toMessage();
  if (databaseUnavailable(e)) {
    log.warn({ err: e, req_id: requestId }, 'TAXII 1.x request refused: database unavailable');
    return new Taxii1Status('RETRY', 'The database is unavailable or did not answer in time; retry shortly', [['ESTIMATED_WAIT', '5']]).toMessage();
  }
  log.error({ err: e, req_id: requestId }, 'TAXII 1.x request failed');
  return new Taxii1Status('FAILURE', `The server could not process the message (error id ${requestId})`).toMessage();
}

function answerLabel(a: Taxii1Answer): string {
  if (a.kind === 'status') return a.type;
  return a.kind === 'poll_stream' ? 'poll_response' : a.kind;
}

function count(deps: Taxii1HttpDeps, l: { root: string; version: Taxii1Version; message: string; answer: string }): void {
  // Label by API root only when it exists, so arbitrary paths cannot grow the metric's label set.
  const root = deps.catalog.rootByPath(l.root)?.path ?? 'unknown';
  deps.metrics?.taxii1Messages.inc({ api_root: root, version: l.version, message: l.message, answer: l.answer });
}

/** The API root at `path` if the principal may use it; NOT_FOUND alike for missing and foreign roots. */
function visibleRoot(catalog: CatalogService, path: string, principal: PrincipalInfo): ApiRootInfo {
  const root = catalog.rootByPath(path);
  if (root === undefined || !catalog.access.authorize(principal, { kind: 'root', root }, 'see').visible) {
    throw new Taxii1Status('NOT_FOUND', `There is no API root ${path}`, [['ITEM', path]]);
  }
  return root;
}

function ownInbox(deps: Taxii1HttpDeps, root: ApiRootInfo, principal: PrincipalInfo, name: string): CollectionInfo {
  const collection = deps.catalog.collectionByName(root, name);
  const visible = collection !== undefined && deps.catalog.access.authorize(principal, { kind: 'collection', collection }, 'see').visible;
  if (!visible) throw new Taxii1Status('NOT_FOUND', `There is no collection ${name}`, [['ITEM', name]]);
  return collection;
}

// --- headers ---

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function transportIsHttps(req: FastifyRequest): boolean {
  if ((req.raw.socket as { encrypted?: boolean }).encrypted === true) return true;
  return header(req, 'x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase() === 'https';
}

/** The version a request is in, from its headers or, failing them, its body's namespace (1.1 if neither says). */
function sniffVersion(headers: FastifyRequest['headers'], body: unknown): Taxii1Version {
  const ct = headers['x-taxii-content-type'];
  const sv = headers['x-taxii-services'];
  const byHeader = versionOfBinding(typeof ct === 'string' ? ct.trim() : undefined) ?? versionOfServices(typeof sv === 'string' ? sv.trim() : undefined);
  if (byHeader !== undefined) return byHeader;
  if (Buffer.isBuffer(body)) {
    const head = body.subarray(0, 4096).toString('latin1');
    if (head.includes('taxii_xml_binding-1.1')) return '1.1';
    if (head.includes('taxii_xml_binding-1"') || head.includes("taxii_xml_binding-1'")) return '1.0';
  }
  return '1.1';
}

const SUPPORTED_BINDINGS: readonly (readonly [string, string])[] = [
  ['SUPPORTED_BINDING', MESSAGE_BINDING['1.1']],
  ['SUPPORTED_BINDING', MESSAGE_BINDING['1.0']],
];

/**
 * Checks the HTTP binding's headers (digest §4.2): X-TAXII-Content-Type and X-TAXII-Services name
 * one version, X-TAXII-Accept (if sent) admits it, X-TAXII-Protocol (if sent) is a known binding,
 * Content-Type is XML and Accept admits XML.
 */
function negotiate(req: FastifyRequest): Negotiated {
  const version = messageVersion(req);
  const refuse = (code: Taxii1MessageCode, message: string, details: readonly (readonly [string, string])[] = SUPPORTED_BINDINGS): EarlyAnswer =>
    new EarlyAnswer(version, new Taxii1Status(code, message, details));
  const accepted = acceptedVersions(header(req, 'x-taxii-accept'), version);
  if (accepted.length === 0) throw refuse('UNSUPPORTED_MESSAGE', 'X-TAXII-Accept names no message binding this server writes');
  const protocol = header(req, 'x-taxii-protocol')?.trim() ?? PROTOCOL_HTTP;
  if (!PROTOCOLS.includes(protocol)) {
    throw refuse(
      'UNSUPPORTED_PROTOCOL',
      `Protocol binding ${protocol} is not supported`,
      PROTOCOLS.map((p) => ['SUPPORTED_PROTOCOL', p] as const),
    );
  }
  checkMedia(req, refuse);
  return { version, accepted, https: transportIsHttps(req) };
}

/** Content-Type must be XML; Accept must admit it (NOT_ACCEPTABLE otherwise). */
function checkMedia(
  req: FastifyRequest,
  refuse: (code: Taxii1MessageCode, message: string, details?: readonly (readonly [string, string])[]) => EarlyAnswer,
): void {
  const contentType = header(req, 'content-type')?.split(';')[0]?.trim().toLowerCase() ?? 'application/xml';
  if (contentType !== 'application/xml' && contentType !== 'text/xml') {
    throw refuse('UNSUPPORTED_MESSAGE', `Content-Type ${contentType} is not the XML message binding's application/xml`);
  }
  if (!acceptsXml(header(req, 'accept'))) throw refuse('NOT_ACCEPTABLE', 'Accept does not admit application/xml, the only media type of the answer', []);
}

/** The version X-TAXII-Content-Type and X-TAXII-Services agree on; UNSUPPORTED_MESSAGE otherwise. */
function messageVersion(req: FastifyRequest): Taxii1Version {
  // The version to refuse in is guessed (from the body) only when refusing.
  const unsupported = (message: string): EarlyAnswer =>
    new EarlyAnswer(sniffVersion(req.headers, req.body), new Taxii1Status('UNSUPPORTED_MESSAGE', message, SUPPORTED_BINDINGS));
  const ct = header(req, 'x-taxii-content-type')?.trim();
  const version = versionOfBinding(ct);
  if (version === undefined) throw unsupported(ct === undefined ? 'X-TAXII-Content-Type is missing' : `Message binding ${ct} is not supported`);
  const services = versionOfServices(header(req, 'x-taxii-services')?.trim());
  if (services === undefined) throw unsupported('X-TAXII-Services is missing or names no TAXII 1.x services version');
  if (services !== version) throw unsupported('X-TAXII-Content-Type and X-TAXII-Services name different TAXII versions');
  return version;
}

/**
 * X-TAXII-Accept: space-separated message bindings, most preferred first; absent = any, so the
 * request's own. The answer is in the first one we write (digest §4.2).
 */
function acceptedVersions(accept: string | undefined, version: Taxii1Version): Taxii1Version[] {
  if (accept === undefined || accept.trim() === '') return [version];
  const out: Taxii1Version[] = [];
  for (const binding of accept.split(/[\s,]+/)) {
    const v = versionOfBinding(binding);
    if (v !== undefined && !out.includes(v)) out.push(v);
  }
  return out;
}

/** The first accepted version whose in_response_to can carry the request's id (1.0 ids are digits). */
function answerVersion(accepted: readonly Taxii1Version[], messageId: string | undefined): Taxii1Version {
  const digits = messageId !== undefined && /^[0-9]+$/.test(messageId);
  return accepted.find((v) => v === '1.1' || digits || messageId === undefined) ?? accepted[0] ?? '1.1';
}

function acceptsXml(accept: string | undefined): boolean {
  if (accept === undefined || accept.trim() === '') return true;
  return accept.split(',').some((range) => {
    const [type, ...params] = range.split(';').map((p) => p.trim().toLowerCase());
    if (params.some((p) => /^q=0(\.0*)?$/.test(p))) return false;
    return type === '*/*' || type === 'application/*' || type === 'application/xml' || type === 'text/xml';
  });
}

// --- authentication ---

type AuthResult = { readonly principal: PrincipalInfo; readonly refusal?: undefined } | { readonly principal?: undefined; readonly refusal: Taxii1Status };

declare module 'fastify' {
  interface FastifyRequest {
    /** The TAXII 1.x authentication outcome, from the onRequest hook (before any body byte is read). */
    taxii1Auth: AuthResult | null;
  }
}

/** libs/auth's outcome as TAXII 1.x renders it: UNAUTHORIZED, or RETRY with the wait for the throttles. */
async function authenticate(req: FastifyRequest, deps: Taxii1HttpDeps): Promise<AuthResult> {
  const outcome = await deps.auth.authenticate(requestFacts(req));
  return outcome.ok ? { principal: outcome.principal } : { refusal: refusalStatus(outcome.refusal) };
}

function refusalStatus(r: Refusal): Taxii1Status {
  if (r.reason === 'missing') {
    return new Taxii1Status('UNAUTHORIZED', 'This server requires authentication (a client certificate, HTTP Basic, an API key or a JWT from /taxii1/auth)');
  }
  if (r.reason === 'rejected') return new Taxii1Status('UNAUTHORIZED', r.message);
  return new Taxii1Status('RETRY', r.message, [['ESTIMATED_WAIT', String(r.retryAfterSeconds ?? 1)]]);
}

// --- answers ---

function taxiiHeaders(reply: FastifyReply, version: Taxii1Version, https: boolean): FastifyReply {
  return reply
    .header('content-type', 'application/xml')
    .header('x-taxii-content-type', MESSAGE_BINDING[version])
    .header('x-taxii-services', SERVICES[version])
    .header('x-taxii-protocol', https ? PROTOCOL_HTTPS : PROTOCOL_HTTP);
}

async function sendAnswer(
  reply: FastifyReply,
  { version, https, answer, inResponseTo }: Pick<Outcome, 'version' | 'https' | 'answer' | 'inResponseTo'>,
  store?: Taxii1Store,
): Promise<void> {
  taxiiHeaders(reply, version, https);
  if (answer.kind !== 'poll_stream') {
    await reply.send(serializeMessage(answer, version, inResponseTo));
    return;
  }
  if (store === undefined) throw new Error('a poll answer needs the store');
  // The first batch is read before anything is sent, so a failing database gives a FAILURE status,
  // not a cut-off document under HTTP 200. A failure later aborts the response (never a valid tail).
  let first: StoredBlock[];
  try {
    first = answer.window === undefined ? [] : await store.blocks(answer.window, STREAM_BATCH);
  } catch (e) {
    await reply.send(serializeMessage(failureAnswer(e, reply.log, reply.request.id), version, inResponseTo));
    return;
  }
  await reply.send(Readable.from(streamPoll(answer, { version, inResponseTo, first }, store)));
}

/** A Poll_Response written while its content blocks are read, a batch at a time. */
async function* streamPoll(
  answer: PollAnswer,
  o: { version: Taxii1Version; inResponseTo: string; first: StoredBlock[] },
  store: Taxii1Store,
): AsyncGenerator<string> {
  const { head, tail } = serializeAround(answer.response, o.version, o.inResponseTo);
  yield head;
  let served = 0;
  const w = answer.window;
  let rows = o.first;
  while (w !== undefined && rows.length > 0) {
    yield serializeBlocks(rows.map(toContentBlock), o.version);
    served += rows.length;
    if (rows.length < STREAM_BATCH) break;
    rows = await store.blocks({ ...w, afterUs: rows[rows.length - 1]!.labelUs }, STREAM_BATCH);
  }
  yield tail;
  answer.served(served);
}

// --- JWT login ---

/**
 * cabby `--jwt-auth`: POST `{"username","password"}` (or a form), answer `{"token": …}`. libs/auth
 * checks the password like HTTP Basic, with the same cache and throttles, and binds the token to the
 * principal's current credentials.
 */
async function login(req: FastifyRequest, reply: FastifyReply, deps: Taxii1HttpDeps): Promise<void> {
  const body = req.body;
  const creds = Buffer.isBuffer(body) ? loginCredentials(body, header(req, 'content-type')) : undefined;
  if (creds === undefined) {
    const e = taxii1LoginError('LOGIN_MALFORMED');
    await reply.code(e.status).header('content-type', 'application/json').send(e.body);
    return;
  }
  const result = await deps.auth.login(requestFacts(req), creds.username, creds.password);
  if ('refusal' in result) {
    const e = taxii1LoginError(result.refusal.reason === 'rejected' ? 'LOGIN_REJECTED' : 'LOGIN_THROTTLED', result.refusal.message);
    if (result.refusal.retryAfterSeconds !== undefined) void reply.header('retry-after', String(result.refusal.retryAfterSeconds));
    await reply.code(e.status).header('content-type', 'application/json').send(e.body);
    return;
  }
  await reply.header('content-type', 'application/json').header('cache-control', 'no-store').send({ token: result.token });
}

function loginCredentials(body: Buffer, contentType: string | undefined): { username: string; password: string } | undefined {
  const text = body.toString('utf8');
  if ((contentType ?? '').toLowerCase().includes('application/x-www-form-urlencoded')) {
    const form = new URLSearchParams(text);
    const username = form.get('username');
    const password = form.get('password');
    return username !== null && password !== null ? { username, password } : undefined;
  }
  try {
    const o = JSON.parse(text) as unknown;
    if (typeof o !== 'object' || o === null) return undefined;
    const { username, password } = o as Record<string, unknown>;
    return typeof username === 'string' && typeof password === 'string' ? { username, password } : undefined;
  } catch {
    return undefined;
  }
}

function isLoginPath(url: string): boolean {
  const path = url.split('?')[0] ?? url;
  return path === '/taxii1/auth' || path === '/taxii1/auth/' || path === '/management/auth' || path === '/management/auth/';
}

/**
 * Reads a TAXII 1.x (or login) body as bytes, never holding more than the limit (`policy`, the API
 * root's max_content_length; 16 KiB for the login). Of a caller the onRequest hook did not
 * authenticate only the first 4 KiB are read (for its message id); the connection then closes.
 */
export async function readTaxii1Body(req: FastifyRequest, payload: NodeJS.ReadableStream, policy: BodyPolicy): Promise<Buffer | BodyProblem> {
  if (req.taxii1Auth?.refusal !== undefined) return readPrefix(req, payload, PEEK_BYTES, 2000);
  const p = isLoginPath(req.url) ? { ...policy, limit: LOGIN_LIMIT } : policy;
  const declared = header(req, 'content-length');
  if (declared !== undefined && Number(declared) > p.limit + p.discardBytes) {
    req.taxiiCloseConnection = true;
    return { kind: 'too-large', limit: p.limit };
  }
  const read = await readBody(req, payload, p);
  return read.kind === 'ok' ? read.bytes.whole() : read;
}
