import type { Access, ApiRootInfo, CollectionInfo, PrincipalInfo } from '@taxiway/domain';

/** What the tenancy hook resolved for a TAXII request, before its body was read. */
export interface TaxiiContext {
  readonly principal: PrincipalInfo;
  readonly root?: ApiRootInfo;
  readonly collection?: CollectionInfo;
  readonly access?: Access;
}

declare module 'fastify' {
  interface FastifyRequest {
    taxii: TaxiiContext | null;
    /** Objects served or ingested by this request, for the request log. */
    taxiiObjects: number | undefined;
    /** Bytes of the request body, once read. */
    taxiiBodyBytes: number | undefined;
    /** The body was not read whole (too large, too slow, or not read for an unauthenticated caller): close after answering. */
    taxiiCloseConnection: boolean;
  }
}
