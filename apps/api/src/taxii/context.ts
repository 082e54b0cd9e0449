import type { FastifyRequest } from 'fastify';
import type { TaxiiContext } from '../tenancy/request-context';

export function ctxOf(req: FastifyRequest): TaxiiContext {
  if (req.taxii === null) throw new Error('request reached a TAXII handler without a tenancy context');
  return req.taxii;
}

/** The context of a collection-scoped request, fully resolved by the tenancy hook. */
export function collectionCtx(req: FastifyRequest): Required<TaxiiContext> {
  const c = ctxOf(req);
  if (c.root === undefined || c.collection === undefined || c.access === undefined) throw new Error('tenancy hook did not resolve the collection');
  return c as Required<TaxiiContext>;
}
