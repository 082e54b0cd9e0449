import { Controller, Get, Inject, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { TAXII_MEDIA_TYPE } from '@taxiway/domain';
import type { Config } from '@taxiway/config';
import type { CatalogService } from '../catalog/catalog.service';
import { sendTaxii } from '../http/media';
import { CATALOG, CONFIG } from '../tokens';
import { ctxOf } from './context';

@Controller()
export class DiscoveryController {
  constructor(
    @Inject(CONFIG) private readonly config: Config,
    @Inject(CATALOG) private readonly catalog: CatalogService,
  ) {}

  /** E1: lists only the API roots this caller may use, as absolute URLs under PUBLIC_BASE_URL. */
  @Get('taxii2/')
  discovery(@Req() req: FastifyRequest, @Res() reply: FastifyReply): void {
    const { principal } = ctxOf(req);
    const roots = this.catalog.access.visibleRoots(principal).map((r) => `${this.config.publicBaseUrl}/${encodeURIComponent(r.path)}/`);
    const body = {
      title: this.config.serverTitle,
      ...(this.config.serverDescription !== undefined && { description: this.config.serverDescription }),
      ...(this.config.serverContact !== undefined && { contact: this.config.serverContact }),
      ...(roots.length === 1 && { default: roots[0] }),
      ...(roots.length > 0 && { api_roots: roots }),
    };
    sendTaxii(reply, 200, JSON.stringify(body));
  }

  /** E2: API root information. */
  @Get(':apiRoot/')
  apiRoot(@Req() req: FastifyRequest, @Res() reply: FastifyReply): void {
    const { root } = ctxOf(req);
    if (root === undefined) throw new Error('tenancy hook did not resolve the API root');
    const body = {
      title: root.title,
      ...(root.description !== undefined && { description: root.description }),
      versions: [TAXII_MEDIA_TYPE],
      max_content_length: root.maxContentLength,
    };
    sendTaxii(reply, 200, JSON.stringify(body));
  }
}
