import type { BindingFilter, CollectionInfo, Window } from '@taxiway/domain';
import type { PollFulfillmentRequest, PollRequest, PollResponse } from '@taxiway/taxii1';
import { normalizeBindings, type PollAnswer, type Taxii1Call, type Taxii1Context } from './taxii1-context';
import { Taxii1Status } from './taxii1-status';

/** One part of a poll's result, to answer. */
interface Part {
  readonly collectionName: string;
  readonly subscriptionId: string | undefined;
  readonly recordCount: number;
  readonly resultId: string | undefined;
  /** Every part of the result, in order; `part` (1-based) is the one to answer. */
  readonly parts: readonly Window[];
  readonly part: number;
  readonly bindings: readonly BindingFilter[];
  /** The part number to report, when it is not `part` (cabby's empty final part). */
  readonly number?: number;
}

/**
 * The Poll Service: Poll_Request opens a window over the collection's timeline (Window.opened) and
 * answers its first part; a result longer than TAXII1_PART_SIZE records (1.1 only) is kept as a
 * result set whose further parts Poll_Fulfillment answers. The content blocks are streamed by the
 * HTTP layer from the answer's `read`.
 */
export class PollService {
  constructor(private readonly ctx: Taxii1Context) {}

  async poll(msg: PollRequest, call: Taxii1Call): Promise<PollAnswer> {
    const collection = this.ctx.permitted(call, msg.collectionName, 'read');
    const { bindings, responseType } = await this.selection(msg, call, collection);
    // TAXII 1.0 has no paging: its answer is always complete.
    const partSize = msg.version === '1.0' || responseType === 'COUNT_ONLY' ? Number.MAX_SAFE_INTEGER : this.ctx.config.taxii1.partSize;
    const opened = await this.ctx.store.openWindow({ collectionPk: collection.pk, requested: msg.window, bindings, partSize });
    const base = { collectionName: msg.collectionName, subscriptionId: msg.subscriptionId, recordCount: opened.count };
    if (responseType === 'COUNT_ONLY') {
      const response: PollResponse = { kind: 'poll_response', ...base, more: false, partNumber: 1, window: opened.window, partialCount: false, blocks: [] };
      return this.answer(call, collection, response, undefined);
    }
    const parts = opened.window.split(opened.cuts);
    const resultId =
      parts.length > 1
        ? await this.ctx.store.createResultSet(
            {
              collectionPk: collection.pk,
              principalPk: call.principal.pk,
              subscriptionId: msg.subscriptionId,
              contentBindings: bindings,
              parts,
              recordCount: opened.count,
            },
            this.ctx.config.taxii1.resultTtlSeconds,
          )
        : undefined;
    return this.part(call, collection, { ...base, resultId, parts, part: 1, bindings });
  }

  /** What a poll selects: its subscription's bindings and response type, or its own parameters. */
  private async selection(
    msg: PollRequest,
    call: Taxii1Call,
    collection: CollectionInfo,
  ): Promise<{ bindings: readonly BindingFilter[]; responseType: 'FULL' | 'COUNT_ONLY' }> {
    const own = normalizeBindings(msg.parameters?.contentBindings ?? []);
    if (msg.subscriptionId === undefined) {
      if (msg.parameters?.queryFormat !== undefined) throw new Taxii1Status('UNSUPPORTED_QUERY', 'This server supports no query format; poll without a Query');
      return { bindings: own, responseType: msg.parameters?.responseType ?? 'FULL' };
    }
    const sub = await this.ctx.subscription(call, collection, msg.subscriptionId, msg.collectionName);
    // A 1.0 poll may name content bindings of its own next to the subscription.
    return { bindings: own.length > 0 ? own : sub.contentBindings, responseType: sub.responseType };
  }

  async fulfill(msg: PollFulfillmentRequest, call: Taxii1Call): Promise<PollAnswer> {
    const collection = this.ctx.permitted(call, msg.collectionName, 'read');
    const rs = await this.ctx.store.resultSet(msg.resultId);
    if (rs === undefined || rs.collectionPk !== collection.pk || rs.principalPk !== call.principal.pk) {
      throw new Taxii1Status(
        'NOT_FOUND',
        `There is no result set ${msg.resultId} for ${msg.collectionName} (result sets expire after ${this.ctx.config.taxii1.resultTtlSeconds} s)`,
        [['ITEM', msg.resultId]],
      );
    }
    const count = rs.parts.length;
    const base = {
      collectionName: msg.collectionName,
      subscriptionId: rs.subscriptionId,
      recordCount: rs.recordCount,
      resultId: rs.id,
      bindings: rs.contentBindings,
    };
    // cabby (0.1.23) asks for the part after the last one and stops only at a part without content
    // blocks: it gets that empty, final part; every other client the INVALID_RESPONSE_PART the
    // specification prescribes (ADR 0010).
    const last = rs.parts[count - 1];
    if (last !== undefined && msg.partNumber === count + 1 && call.client === 'cabby') {
      return this.part(call, collection, { ...base, parts: [last.after(last.throughUs)], part: 1, number: msg.partNumber });
    }
    if (msg.partNumber > count) {
      throw new Taxii1Status('INVALID_RESPONSE_PART', `Result set ${msg.resultId} has ${count} parts`, [['MAX_PART_NUMBER', String(count)]]);
    }
    return this.part(call, collection, { ...base, parts: rs.parts, part: msg.partNumber });
  }

  private part(call: Taxii1Call, collection: CollectionInfo, p: Part): PollAnswer {
    const window = p.parts[p.part - 1];
    if (window === undefined) throw new Error(`part ${p.part} of ${p.parts.length}`);
    const response: PollResponse = {
      kind: 'poll_response',
      collectionName: p.collectionName,
      subscriptionId: p.subscriptionId,
      more: p.part < p.parts.length,
      resultId: p.resultId,
      partNumber: p.number ?? p.part,
      window,
      recordCount: p.recordCount,
      partialCount: false,
      blocks: [],
    };
    return this.answer(call, collection, response, window.empty ? undefined : { collectionPk: collection.pk, window, bindings: p.bindings });
  }

  private answer(call: Taxii1Call, collection: CollectionInfo, response: PollResponse, read: PollAnswer['read']): PollAnswer {
    const ctx = { principal: call.principal, root: call.root, collection, access: { read: true, write: false } };
    const { audit, meter } = this.ctx.observers;
    return {
      kind: 'poll_stream',
      response,
      read,
      served: (blocks: number) => {
        meter.served(ctx, 'taxii1_poll', { objects: blocks });
        audit.record({
          at: new Date(),
          apiRoot: call.root.path,
          collection: collection.name,
          principal: call.principal.name,
          action: 'read',
          endpoint: 'taxii1-poll',
          objectCount: blocks,
          statusId: undefined,
          detail: `part=${response.partNumber}${response.resultId !== undefined ? ` result=${response.resultId}` : ''}`,
        });
      },
    };
  }
}
