import { Body, Controller, Delete, Get, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Access, CollectionInfo, RawQuery } from '@taxiway/domain';
import type { CatalogService } from '../catalog/catalog.service';
import { sendTaxii } from '../http/media';
import { collectionCtx, ctxOf } from './context';
import type { EnvelopeBody } from '../ingest/ingest-pool';
import { TaxiiService, type TaxiiResponse } from './taxii.service';
import { CATALOG, TAXII_SERVICE } from '../tokens';

function collectionJson(c: CollectionInfo, a: Access): Record<string, unknown> {
  return {
    id: c.id,
    title: c.title,
    ...(c.description !== undefined && { description: c.description }),
    ...(c.alias !== undefined && { alias: c.alias }),
    can_read: a.read,
    can_write: a.write,
    media_types: c.mediaTypes,
  };
}

function send(reply: FastifyReply, r: TaxiiResponse): void {
  reply.request.taxiiObjects = r.objects;
  for (const [k, v] of Object.entries(r.headers)) void reply.header(k, v);
  sendTaxii(reply, r.status, r.body);
}

@Controller(':apiRoot')
export class CollectionsController {
  constructor(
    @Inject(CATALOG) private readonly catalog: CatalogService,
    @Inject(TAXII_SERVICE) private readonly taxii: TaxiiService,
  ) {}

  /** E4: the collections this caller can see, with its own can_read/can_write. */
  @Get('collections/')
  list(@Req() req: FastifyRequest, @Res() reply: FastifyReply): void {
    const { principal, root } = ctxOf(req);
    if (root === undefined) throw new Error('tenancy hook did not resolve the API root');
    const list = this.catalog.access.visibleCollections(root, principal).map(({ collection, access }) => collectionJson(collection, access));
    sendTaxii(reply, 200, JSON.stringify(list.length > 0 ? { collections: list } : {}));
  }

  /** E5 */
  @Get('collections/:collectionId/')
  one(@Req() req: FastifyRequest, @Res() reply: FastifyReply): void {
    const { collection, access } = collectionCtx(req);
    sendTaxii(reply, 200, JSON.stringify(collectionJson(collection, access)));
  }

  /** E6 */
  @Get('collections/:collectionId/manifest/')
  async manifest(@Req() req: FastifyRequest, @Query() q: RawQuery, @Res() reply: FastifyReply): Promise<void> {
    send(reply, await this.taxii.list(collectionCtx(req), 'manifest', q));
  }

  /** E7 */
  @Get('collections/:collectionId/objects/')
  async objects(@Req() req: FastifyRequest, @Query() q: RawQuery, @Res() reply: FastifyReply): Promise<void> {
    send(reply, await this.taxii.list(collectionCtx(req), 'objects', q));
  }

  /** E8 */
  @Post('collections/:collectionId/objects/')
  async add(@Req() req: FastifyRequest, @Body() body: EnvelopeBody | undefined, @Res() reply: FastifyReply): Promise<void> {
    send(reply, await this.taxii.add(collectionCtx(req), body));
  }

  /** E9 */
  @Get('collections/:collectionId/objects/:objectId/')
  async object(@Req() req: FastifyRequest, @Param('objectId') id: string, @Query() q: RawQuery, @Res() reply: FastifyReply): Promise<void> {
    send(reply, await this.taxii.list(collectionCtx(req), 'object', q, id));
  }

  /** E10 */
  @Delete('collections/:collectionId/objects/:objectId/')
  async remove(@Req() req: FastifyRequest, @Param('objectId') id: string, @Query() q: RawQuery, @Res() reply: FastifyReply): Promise<void> {
    send(reply, await this.taxii.delete(collectionCtx(req), id, q));
  }

  /** E11 */
  @Get('collections/:collectionId/objects/:objectId/versions/')
  async versions(@Req() req: FastifyRequest, @Param('objectId') id: string, @Query() q: RawQuery, @Res() reply: FastifyReply): Promise<void> {
    send(reply, await this.taxii.list(collectionCtx(req), 'versions', q, id));
  }

  /** E3 */
  @Get('status/:statusId/')
  async status(@Req() req: FastifyRequest, @Param('statusId') id: string, @Res() reply: FastifyReply): Promise<void> {
    const { principal, root } = ctxOf(req);
    if (root === undefined) throw new Error('tenancy hook did not resolve the API root');
    const mayRead = (ownerPk: number) => this.catalog.access.authorize(principal, { kind: 'status', root, ownerPk }, 'read-status').allowed;
    send(reply, await this.taxii.status(root, id, mayRead));
  }
}
