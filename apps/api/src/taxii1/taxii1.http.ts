import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Authenticator } from '@taxiway/auth';
import type { Config } from '@taxiway/config';
import type { ApiRootInfo, CollectionInfo, PrincipalInfo, Taxii1Store } from '@taxiway/domain';
import type { ApiMetrics } from '@taxiway/metrics';
import { BadMessage, parseRequest, type Taxii1Request, type Taxii1Version } from '@taxiway/taxii1';
import type { CatalogService } from '../catalog/catalog.service';
import { failureAnswer, sendAnswer, type Reply } from './taxii1-answer';
import { authenticate, isLoginPath, login } from './taxii1-auth';
import { bodyProblemStatus } from './taxii1-body';
import { TAXII1_ANSWER_HTTP, TAXII1_OPTIONS_HTTP } from './taxii1-error.map';
import {
  answerVersion,
  EarlyAnswer,
  header,
  inResponseTo,
  negotiate,
  peekMessageId,
  sniffVersion,
  transportIsHttps,
  type Negotiated,
} from './taxii1-negotiation';
import { Taxii1Status } from './taxii1-status';
import type { Taxii1Answer, Taxii1Service, Taxii1ServiceName } from './taxii1.service';

export { isTaxii1Path, readTaxii1Body, TAXII1_DEFAULT_LIMIT, type BodyProblem } from './taxii1-body';

export interface Taxii1HttpDeps {
  readonly service: Taxii1Service;
  readonly store: Taxii1Store;
  readonly catalog: CatalogService;
  readonly auth: Authenticator;
  readonly config: Config;
  readonly metrics: ApiMetrics | undefined;
}

const SERVICE_NAMES: readonly Taxii1ServiceName[] = ['discovery', 'collection-management', 'inbox', 'poll'];

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
    if (req.url.startsWith('/taxii1/') && !isLoginPath(req.url)) req.taxii1Auth = await authenticate(req, deps.auth);
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
  fastify.post('/taxii1/auth', (req, reply) => login(req, reply, deps.auth));
  fastify.post('/management/auth', (req, reply) => login(req, reply, deps.auth));
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
interface Outcome extends Reply {
  readonly http: number;
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
  const auth = req.taxii1Auth ?? (await authenticate(req, deps.auth));
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
