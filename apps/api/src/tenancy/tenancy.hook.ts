import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Authenticator, Decision, Operation, Refusal } from '@taxiway/auth';
import { DomainError, negotiateAccept, notFound, type ApiRootInfo, type PrincipalInfo } from '@taxiway/domain';
import type { HttpLimits } from '@taxiway/config';
import { readTaxiiBody, type BodyPolicy } from '../http/body';
import type { CatalogService } from '../catalog/catalog.service';
import { isTaxii1Path, readTaxii1Body, TAXII1_DEFAULT_LIMIT } from '../taxii1/taxii1.http';
import { requestFacts } from './request-facts';
import './request-context';

const PUBLIC_PATHS = ['/healthz', '/readyz', '/metrics'];

/**
 * Runs in Fastify's onRequest phase, before any body byte is read: authenticates through libs/auth
 * (401, or 429 when throttled), checks the Accept header (406), resolves the API root and collection
 * and asks libs/auth whether the caller may do what the route does (404 for what it may not see,
 * exactly as for what does not exist; 403 for what it sees but may not do). The body parser then
 * enforces the root's max_content_length while streaming.
 */
export function installTenancy(app: FastifyInstance, catalog: CatalogService, auth: Authenticator, limits: HttpLimits): void {
  app.decorateRequest('taxii', null);
  app.decorateRequest('taxiiObjects', undefined);
  app.decorateRequest('taxiiBodyBytes', undefined);
  app.decorateRequest('taxiiCloseConnection', false);
  // A body that was not read whole leaves bytes on the connection: close it after the answer.
  app.addHook('onSend', async (req, reply) => {
    if (req.taxiiCloseConnection) void reply.header('connection', 'close');
  });

  app.addHook('onRequest', async (req: FastifyRequest) => {
    // TAXII 1.x authenticates in its own onRequest hook (taxii1.http.ts): its refusals are TAXII messages, not JSON errors.
    if (isPublicPath(req.url) || isTaxii1Path(req.url)) return;
    const outcome = await auth.authenticate(requestFacts(req));
    if (!outcome.ok) throw refusalError(outcome.refusal);
    req.taxii = { principal: outcome.principal };
    negotiateAccept(req.headers.accept, { allowStix: isManifestRoute(req) });
    bindTarget(req, catalog, outcome.principal);
  });

  // One body parser for every content type: the route decides what it accepts.
  app.removeAllContentTypeParsers();
  const policy = (limit: number): BodyPolicy => ({
    limit,
    minBytesPerSecond: limits.bodyMinBytesPerSecond,
    graceMs: limits.bodyGraceMs,
    discardBytes: limits.bodyDiscardBytes,
  });
  app.addContentTypeParser('*', async (req: FastifyRequest, payload: NodeJS.ReadableStream) => {
    if (isTaxii1Path(req.url)) return readTaxii1Body(req, payload, policy(taxii1Limit(catalog, req)));
    const limit = req.taxii?.root?.maxContentLength;
    if (limit === undefined) throw new DomainError('MethodNotAllowed', 'This resource takes no request body');
    return readTaxiiBody(req, payload, policy(limit));
  });
}

/** A TAXII 1.x message may be as large as its API root's max_content_length. */
function taxii1Limit(catalog: CatalogService, req: FastifyRequest): number {
  const root = (req.params as { apiRoot?: string } | undefined)?.apiRoot;
  return (root === undefined ? undefined : catalog.rootByPath(root)?.maxContentLength) ?? TAXII1_DEFAULT_LIMIT;
}

/** Health and metrics endpoints, served without authentication: these exact paths only. */
function isPublicPath(url: string): boolean {
  const path = (url.split('?')[0] ?? url).replace(/(.)\/$/, '$1');
  return PUBLIC_PATHS.includes(path);
}

/** A refusal as TAXII 2.1 renders it: 401 for missing or wrong credentials, 429 with Retry-After for the throttles. */
function refusalError(r: Refusal): DomainError {
  if (r.reason === 'missing' || r.reason === 'rejected') return new DomainError('Unauthenticated', r.message);
  return new DomainError('TooManyRequests', r.message, { retry_after_seconds: r.retryAfterSeconds ?? 1 });
}

/** Get Object Manifests may also answer in the STIX media type. */
function isManifestRoute(req: FastifyRequest): boolean {
  const routeUrl = req.routeOptions.url ?? '';
  return routeUrl.endsWith('/manifest/') || routeUrl.endsWith('/manifest');
}

/** What each collection route does, by method and route template suffix. */
const OPERATIONS: readonly { readonly method: string; readonly suffix: RegExp; readonly operation: Operation }[] = [
  { method: 'GET', suffix: /\/:collectionId\/?$/, operation: 'see' },
  { method: 'POST', suffix: /\/objects\/?$/, operation: 'write' },
  { method: 'DELETE', suffix: /\/objects\/:objectId\/?$/, operation: 'delete' },
  { method: 'GET', suffix: /\/(manifest|objects|objects\/:objectId|versions)\/?$/, operation: 'read' },
];

const FORBIDDEN: Record<Operation, string> = {
  see: 'You may not see this collection',
  read: 'You may not read this collection',
  write: 'You may not add objects to this collection',
  delete: 'Deleting requires both read and write access to this collection',
  'read-status': 'You may not read this status',
};

function operationOf(req: FastifyRequest): Operation {
  const route = req.routeOptions.url ?? '';
  return OPERATIONS.find((o) => o.method === req.method && o.suffix.test(route))?.operation ?? 'read';
}

/** 404 for what the caller may not know exists, 403 for what it sees but may not do. */
function enforce(decision: Decision, operation: Operation): void {
  if (!decision.visible) throw notFound();
  if (!decision.allowed) throw new DomainError('Forbidden', FORBIDDEN[operation]);
}

/**
 * Resolves the API root and collection named in the route, records them on the request, and
 * enforces libs/auth's decision for what the route does (statuses are decided once their creator
 * is known, in the service).
 */
function bindTarget(req: FastifyRequest, catalog: CatalogService, principal: PrincipalInfo): void {
  const params = (req.params ?? {}) as Record<string, string | undefined>;
  // No root, collection or object name holds a NUL (nor could the database store one): nothing is there.
  if (Object.values(params).some((v) => v?.includes('\u0000') === true)) throw notFound();
  const rootPath = params['apiRoot'];
  if (rootPath === undefined) return;
  const root = visibleRoot(catalog, rootPath, principal);
  const collId = params['collectionId'];
  if (collId === undefined) {
    req.taxii = { principal, root };
    return;
  }
  const collection = catalog.findCollection(root, collId);
  if (collection === undefined) throw notFound();
  const operation = operationOf(req);
  const { decision, access } = catalog.access.decideOnCollection(principal, collection, operation);
  enforce(decision, operation);
  req.taxii = { principal, root, collection, access };
}

/** The API root at `rootPath`; 404 if there is none or the principal may not see it. */
function visibleRoot(catalog: CatalogService, rootPath: string, principal: PrincipalInfo): ApiRootInfo {
  const root = catalog.rootByPath(rootPath);
  if (root === undefined || !catalog.access.authorize(principal, { kind: 'root', root }, 'see').visible) throw notFound();
  return root;
}
