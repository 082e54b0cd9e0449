import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CredentialVerifier, parseAuthorization } from '@taxiway/auth';
import { DomainError, negotiateAccept, notFound } from '@taxiway/domain';
import { readTaxiiBody } from '../http/body';
import type { CatalogService } from '../catalog/catalog.service';
import './request-context';

const PUBLIC_PREFIXES = ['/healthz', '/readyz', '/metrics'];

/**
 * Runs in Fastify's onRequest phase, before any body byte is read: authenticates (401), checks the
 * Accept header (406), resolves the API root and collection the caller may see (404 for what does
 * not exist and for what belongs to someone else alike), and, for Add Objects, checks the write
 * grant (403). The body parser then enforces the root's max_content_length while streaming.
 */
export function installTenancy(app: FastifyInstance, catalog: CatalogService, verifier: CredentialVerifier): void {
  app.decorateRequest('taxii', null);

  app.addHook('onRequest', async (req: FastifyRequest) => {
    const path = req.url;
    if (PUBLIC_PREFIXES.some((p) => path === p || path.startsWith(p + '/') || path.startsWith(p + '?'))) return;
    const cred = parseAuthorization(req.headers.authorization);
    const principal = cred === undefined ? undefined : await verifier.verify(cred);
    if (principal === undefined) {
      throw new DomainError('Unauthenticated', cred === undefined ? 'This server requires authentication' : 'The credentials were not accepted');
    }
    req.taxii = { principal };
    const params = (req.params ?? {}) as Record<string, string | undefined>;
    const routeUrl = req.routeOptions.url ?? '';
    negotiateAccept(req.headers.accept, { allowStix: routeUrl.endsWith('/manifest/') || routeUrl.endsWith('/manifest') });
    const rootPath = params['apiRoot'];
    if (rootPath === undefined) return;
    const root = catalog.rootByPath(rootPath);
    if (root === undefined || !catalog.rootVisible(root, principal.pk)) throw notFound();
    const collId = params['collectionId'];
    if (collId === undefined) {
      req.taxii = { principal, root };
      return;
    }
    const collection = catalog.findCollection(root, collId);
    const access = collection === undefined ? undefined : catalog.access(collection, principal.pk);
    if (collection === undefined || access === undefined || (!access.read && !access.write)) throw notFound();
    req.taxii = { principal, root, collection, access };
    if (req.method === 'POST' && !access.write) throw new DomainError('Forbidden', 'You may not add objects to this collection');
  });

  // One body parser for every content type: the route decides what it accepts.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', async (req: FastifyRequest, payload: NodeJS.ReadableStream) => {
    const limit = req.taxii?.root?.maxContentLength;
    if (limit === undefined) throw new DomainError('MethodNotAllowed', 'This resource takes no request body');
    return readTaxiiBody(req, payload, limit);
  });
}
