import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AccessLimiter, CredentialVerifier, parseAuthorization, type Credential, type Take } from '@taxiway/auth';
import { DomainError, negotiateAccept, notFound, type Access, type ApiRootInfo, type CollectionInfo, type PrincipalInfo } from '@taxiway/domain';
import { readTaxiiBody } from '../http/body';
import type { CatalogService } from '../catalog/catalog.service';
import { certificatePrincipal } from './client-cert';
import { isTaxii1Path, readRawBody, TAXII1_DEFAULT_LIMIT } from '../taxii1/taxii1.http';
import './request-context';

const PUBLIC_PREFIXES = ['/healthz', '/readyz', '/metrics'];

/**
 * Runs in Fastify's onRequest phase, before any body byte is read: authenticates (401), checks the
 * Accept header (406), resolves the API root and collection the caller may see (404 for what does
 * not exist and for what belongs to someone else alike), and, for Add Objects, checks the write
 * grant (403). The body parser then enforces the root's max_content_length while streaming.
 */
export function installTenancy(app: FastifyInstance, catalog: CatalogService, verifier: CredentialVerifier, limiter: AccessLimiter): void {
  app.decorateRequest('taxii', null);
  app.decorateRequest('taxiiObjects', undefined);
  app.decorateRequest('taxiiBodyBytes', undefined);

  app.addHook('onRequest', async (req: FastifyRequest) => {
    // TAXII 1.x authenticates in its own handler: its refusals are TAXII messages, not JSON errors.
    if (isPublicPath(req.url) || isTaxii1Path(req.url)) return;
    const cred = parseAuthorization(req.headers.authorization);
    // Credentials in the header win; without them a verified client certificate authenticates.
    const principal = cred === undefined ? certificatePrincipal(req, (n) => catalog.byName(n)) : await authenticate(req, cred, verifier, limiter);
    if (principal === undefined) throw unauthenticated(cred);
    refuseIfLimited(limiter.takeRequest(principal, Date.now()), 'This client has exceeded its request rate');
    req.taxii = { principal };
    negotiateAccept(req.headers.accept, { allowStix: isManifestRoute(req) });
    bindTarget(req, catalog, principal);
  });

  // One body parser for every content type: the route decides what it accepts.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', async (req: FastifyRequest, payload: NodeJS.ReadableStream) => {
    if (isTaxii1Path(req.url)) return readRawBody(req, payload, taxii1Limit(catalog, req));
    const limit = req.taxii?.root?.maxContentLength;
    if (limit === undefined) throw new DomainError('MethodNotAllowed', 'This resource takes no request body');
    return readTaxiiBody(req, payload, limit);
  });
}

/** A TAXII 1.x message may be as large as its API root's max_content_length. */
function taxii1Limit(catalog: CatalogService, req: FastifyRequest): number {
  const root = (req.params as { apiRoot?: string } | undefined)?.apiRoot;
  return (root === undefined ? undefined : catalog.rootByPath(root)?.maxContentLength) ?? TAXII1_DEFAULT_LIMIT;
}

/** Health and metrics endpoints, served without authentication. */
function isPublicPath(path: string): boolean {
  return PUBLIC_PREFIXES.some((p) => path === p || path.startsWith(p + '/') || path.startsWith(p + '?'));
}

/**
 * Verifies credentials unless this address or username is throttled after too many failures (429);
 * records a failure when they do not verify.
 */
async function authenticate(req: FastifyRequest, cred: Credential, verifier: CredentialVerifier, limiter: AccessLimiter): Promise<PrincipalInfo | undefined> {
  const username = cred.kind === 'basic' ? cred.username : undefined;
  refuseIfLimited(limiter.authAllowed(req.ip, username, Date.now()), 'Too many failed authentication attempts; try again later');
  const principal = await verifier.verify(cred);
  if (principal === undefined) limiter.recordFailure(req.ip, username, Date.now());
  return principal;
}

/** 429 with the seconds until the bucket has a token again (rendered as Retry-After). */
function refuseIfLimited(take: Take, message: string): void {
  if (!take.ok) throw new DomainError('TooManyRequests', message, { retry_after_seconds: Math.max(1, Math.ceil(take.retryAfterMs / 1000)) });
}

/** 401: no credentials at all, or credentials that did not verify. */
function unauthenticated(cred: Credential | undefined): DomainError {
  return new DomainError('Unauthenticated', cred === undefined ? 'This server requires authentication' : 'The credentials were not accepted');
}

/** Get Object Manifests may also answer in the STIX media type. */
function isManifestRoute(req: FastifyRequest): boolean {
  const routeUrl = req.routeOptions.url ?? '';
  return routeUrl.endsWith('/manifest/') || routeUrl.endsWith('/manifest');
}

/**
 * Resolves the API root and collection named in the route (404 unless the principal may see them),
 * records them on the request, and, for Add Objects, checks the write grant (403).
 */
function bindTarget(req: FastifyRequest, catalog: CatalogService, principal: PrincipalInfo): void {
  const params = (req.params ?? {}) as Record<string, string | undefined>;
  const rootPath = params['apiRoot'];
  if (rootPath === undefined) return;
  const root = visibleRoot(catalog, rootPath, principal);
  const collId = params['collectionId'];
  if (collId === undefined) {
    req.taxii = { principal, root };
    return;
  }
  const collection = catalog.findCollection(root, collId);
  const access = grantedAccess(catalog, collection, principal);
  if (collection === undefined || access === undefined) throw notFound();
  req.taxii = { principal, root, collection, access };
  if (req.method === 'POST' && !access.write) throw new DomainError('Forbidden', 'You may not add objects to this collection');
}

/** The API root at `rootPath`; 404 if there is none or the principal may not see it. */
function visibleRoot(catalog: CatalogService, rootPath: string, principal: PrincipalInfo): ApiRootInfo {
  const root = catalog.rootByPath(rootPath);
  if (root === undefined || !catalog.rootVisible(root, principal.pk)) throw notFound();
  return root;
}

/** The principal's access to the collection; undefined if there is no such collection or neither read nor write is granted. */
function grantedAccess(catalog: CatalogService, collection: CollectionInfo | undefined, principal: PrincipalInfo): Access | undefined {
  if (collection === undefined) return undefined;
  const access = catalog.access(collection, principal.pk);
  return access.read || access.write ? access : undefined;
}
