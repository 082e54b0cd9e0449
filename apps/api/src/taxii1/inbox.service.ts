import { QuotaExceeded, type AddedBlocks, type CollectionInfo } from '@taxiway/domain';
import type { InboxMessage, StatusMessage } from '@taxiway/taxii1';
import type { Taxii1Call, Taxii1Context } from './taxii1-context';
import { Taxii1Status } from './taxii1-status';

const NO_FAILURES = { invalid: 0, conflict: 0, quota: 0 } as const;

/** The Inbox Service: an Inbox Message's content blocks go into one or more collections, all or none. */
export class InboxService {
  constructor(private readonly ctx: Taxii1Context) {}

  async inbox(msg: InboxMessage, call: Taxii1Call): Promise<StatusMessage> {
    const max = this.ctx.config.taxii1.maxBlocksPerMessage;
    if (msg.blocks.length > max) {
      throw new Taxii1Status('BAD_MESSAGE', `The message holds ${msg.blocks.length} content blocks; this server takes at most ${max} per message`);
    }
    const targets = this.destinations(msg, call);
    const added = await this.add(msg, call, targets);
    for (const t of targets) this.observe(call, t, msg.blocks.length);
    if (added.length > 0) this.ctx.observers.nudgePush();
    const names = targets.map((t) => t.name).join(', ');
    return { kind: 'status', type: 'SUCCESS', message: `${msg.blocks.length} content block(s) added to ${names}` };
  }

  /** Stores the blocks in every target in one transaction; a full collection refuses the whole message (DENIED). */
  private async add(msg: InboxMessage, call: Taxii1Call, targets: readonly CollectionInfo[]): Promise<AddedBlocks[]> {
    try {
      return await this.ctx.store.addBlocks(
        targets.map((t) => t.pk),
        call.principal.pk,
        msg.blocks.map((b) => ({ binding: b.binding, subtype: b.subtype, content: b.content, contentNs: b.contentNs, message: b.message })),
      );
    } catch (e) {
      if (!(e instanceof QuotaExceeded)) throw e;
      const name = targets.find((t) => t.pk === e.collectionPk)?.name ?? '';
      throw new Taxii1Status('DENIED', `Nothing was added: collection ${name} holds at most ${e.max} records`);
    }
  }

  private observe(call: Taxii1Call, collection: CollectionInfo, blocks: number): void {
    const ctx = { principal: call.principal, root: call.root, collection, access: { read: false, write: true } };
    this.ctx.observers.meter.ingested(ctx, { objects: blocks, failures: NO_FAILURES });
    this.ctx.observers.audit.record({
      at: new Date(),
      apiRoot: call.root.path,
      collection: collection.name,
      principal: call.principal.name,
      action: 'add',
      endpoint: 'taxii1-inbox',
      objectCount: blocks,
      statusId: undefined,
      detail: `content blocks=${blocks}`,
    });
  }

  /**
   * Where an Inbox Message goes: a collection's own inbox takes it into that collection; the API
   * root's inbox takes the Destination_Collection_Names (1.1), or the one collection the caller may
   * write to. Any name the caller may not write to refuses the whole message.
   */
  private destinations(msg: InboxMessage, call: Taxii1Call): CollectionInfo[] {
    const writable = this.ctx.catalog.access.visibleCollections(call.root, call.principal).filter((v) => v.access.write);
    const acceptable = (names: string[]): (readonly [string, string])[] => names.map((n) => ['ACCEPTABLE_DESTINATION', n] as const);
    if (call.inboxCollection !== undefined) {
      const own = call.inboxCollection;
      if (!writable.some((v) => v.collection.pk === own.pk)) throw new Taxii1Status('UNAUTHORIZED', `You may not add content to ${own.name}`);
      if (msg.destinations.some((d) => d !== own.name && d !== own.alias)) {
        throw new Taxii1Status('DESTINATION_COLLECTION_ERROR', `This inbox adds content to ${own.name} only`, acceptable([own.name]));
      }
      return [own];
    }
    const names = writable.map((v) => v.collection.name);
    if (msg.destinations.length === 0) {
      if (writable.length === 1) return [writable[0]!.collection];
      const why = writable.length === 0 ? 'You may not add content to any collection of this API root' : 'Name the collection (Destination_Collection_Name)';
      if (msg.version === '1.0') throw new Taxii1Status('DENIED', `${why}; TAXII 1.0 clients send to the collection's own inbox (Receiving_Inbox_Service)`);
      throw new Taxii1Status('DESTINATION_COLLECTION_ERROR', why, acceptable(names));
    }
    return [...new Set(msg.destinations)].map((d) => {
      const found = writable.find((v) => v.collection.name === d || v.collection.alias === d);
      if (found === undefined)
        throw new Taxii1Status('DESTINATION_COLLECTION_ERROR', `You may not add content to ${d}, or it does not exist; nothing was added`, acceptable(names));
      return found.collection;
    });
  }
}
