import { createHash } from 'node:crypto';
import type { Config } from '@taxiway/config';
import {
  QuotaExceeded,
  type Access,
  type ApiRootInfo,
  type AuditSink,
  type BindingFilter,
  type CollectionInfo,
  type PrincipalInfo,
  type StoredBlock,
  type SubscriptionRow,
  type Taxii1Store,
} from '@taxiway/domain';
import {
  MESSAGE_BINDING,
  PROTOCOL_HTTP,
  PROTOCOL_HTTPS,
  PROTOCOLS,
  STIX1_BINDINGS,
  STIX21_JSON_BINDING,
  type Binding,
  type CollectionInformationResponse,
  type CollectionRecord,
  type DiscoveryResponse,
  type InboxMessage,
  type PollFulfillmentRequest,
  type PollRequest,
  type PollResponse,
  type PushParameters,
  type ServiceAddress,
  type ServiceType,
  type StatusMessage,
  type StatusType,
  type SubscriptionManagementRequest,
  type SubscriptionManagementResponse,
  type SubscriptionRecord,
  type Taxii1Request,
  type Taxii1Version,
} from '@taxiway/taxii1';
import type { CatalogService } from '../catalog/catalog.service';
import { addressProblem } from './push-address';
import { taxii1HttpStatus, taxii1StatusType, type Taxii1MessageCode } from './taxii1-error.map';
import type { SharingMeter } from '../taxii/taxii.service';

/**
 * A TAXII-level failure, answered as a Status Message. Its code (a status type, or a transport
 * refusal such as TOO_LARGE) gives the status type and the HTTP status (taxii1-error.map.ts).
 */
export class Taxii1Status extends Error {
  readonly type: StatusType;
  /** The HTTP status the Status Message is sent under. */
  readonly httpStatus: number;

  constructor(
    readonly code: Taxii1MessageCode,
    message: string,
    readonly details: readonly (readonly [string, string])[] = [],
  ) {
    super(message);
    this.name = 'Taxii1Status';
    this.type = taxii1StatusType(code);
    this.httpStatus = taxii1HttpStatus(code);
  }

  toMessage(): StatusMessage {
    return { kind: 'status', type: this.type, message: this.message, details: this.details };
  }
}

export type Taxii1ServiceName = 'discovery' | 'collection-management' | 'inbox' | 'poll';

/** Who is calling which service of which API root. */
export interface Taxii1Call {
  readonly principal: PrincipalInfo;
  readonly root: ApiRootInfo;
  readonly service: Taxii1ServiceName;
  /** Set on a collection's own inbox (`/taxii1/{root}/inbox/{collection}`). */
  readonly inboxCollection?: CollectionInfo | undefined;
  /** A client whose known quirks are accommodated (from its User-Agent). */
  readonly client?: 'cabby' | undefined;
}

/** A Poll_Response whose content blocks are read from the store while it is written. */
export interface PollAnswer {
  readonly kind: 'poll_stream';
  readonly response: PollResponse;
  /** The window to stream; undefined for COUNT_ONLY. */
  readonly window:
    | { readonly collectionPk: number; readonly afterUs: number | undefined; readonly throughUs: number; readonly bindings: readonly BindingFilter[] }
    | undefined;
  /** Called with the number of blocks once streamed. */
  readonly served: (blocks: number) => void;
}

export type Taxii1Answer = StatusMessage | DiscoveryResponse | CollectionInformationResponse | SubscriptionManagementResponse | PollAnswer;

const SERVICE_OF: Record<Taxii1Request['kind'], Taxii1ServiceName> = {
  discovery: 'discovery',
  collection_information: 'collection-management',
  subscription_management: 'collection-management',
  poll: 'poll',
  poll_fulfillment: 'poll',
  inbox: 'inbox',
};

const SERVICE_TYPE: Record<Taxii1ServiceName, ServiceType> = {
  discovery: 'DISCOVERY',
  'collection-management': 'COLLECTION_MANAGEMENT',
  inbox: 'INBOX',
  poll: 'POLL',
};

const NO_FAILURES = { invalid: 0, conflict: 0, quota: 0 } as const;

export interface Taxii1Observers {
  readonly audit: AuditSink;
  readonly meter: SharingMeter;
  /** Wakes the push worker after content was added or a subscription resumed. */
  readonly nudgePush: () => void;
}

/** The TAXII 1.0/1.1 exchanges over the same collections, grants and store as TAXII 2.1. */
export class Taxii1Service {
  constructor(
    private readonly store: Taxii1Store,
    private readonly catalog: CatalogService,
    private readonly config: Config,
    private readonly observers: Taxii1Observers,
  ) {}

  async handle(msg: Taxii1Request, call: Taxii1Call): Promise<Taxii1Answer> {
    const expected = SERVICE_OF[msg.kind];
    if (expected !== call.service) {
      throw new Taxii1Status('BAD_MESSAGE', `The ${call.service} service does not take this message; send it to ${this.address(call.root, expected)}`);
    }
    switch (msg.kind) {
      case 'discovery':
        return this.discovery(msg.version, call);
      case 'collection_information':
        return this.collectionInformation(msg.version, call);
      case 'subscription_management':
        return this.subscriptionManagement(msg, call);
      case 'poll':
        return this.poll(msg, call);
      case 'poll_fulfillment':
        return this.fulfill(msg, call);
      case 'inbox':
        return this.inbox(msg, call);
    }
  }

  // --- addresses ---

  address(root: ApiRootInfo, service: Taxii1ServiceName, collection?: CollectionInfo): string {
    const base = `${this.config.publicBaseUrl}/taxii1/${encodeURIComponent(root.path)}/${service}/`;
    return collection === undefined ? base : `${base}${encodeURIComponent(collection.name)}/`;
  }

  /** The protocol binding of the advertised addresses: that of PUBLIC_BASE_URL. */
  private get protocol(): string {
    return this.config.publicBaseUrl.startsWith('https:') ? PROTOCOL_HTTPS : PROTOCOL_HTTP;
  }

  private service(root: ApiRootInfo, service: Taxii1ServiceName, version: Taxii1Version, collection?: CollectionInfo): ServiceAddress {
    return { protocolBinding: this.protocol, address: this.address(root, service, collection), messageBindings: [MESSAGE_BINDING[version]] };
  }

  // --- discovery and collection information ---

  private discovery(version: Taxii1Version, call: Taxii1Call): DiscoveryResponse {
    const services = (['discovery', 'collection-management', 'inbox', 'poll'] as const).map((s) => ({
      type: SERVICE_TYPE[s],
      ...this.service(call.root, s, version),
      available: true,
    }));
    return { kind: 'discovery_response', services };
  }

  private collectionInformation(version: Taxii1Version, call: Taxii1Call): CollectionInformationResponse {
    const collections: CollectionRecord[] = [];
    for (const { collection, access } of this.catalog.access.visibleCollections(call.root, call.principal)) {
      // A 1.0 feed must offer polling or push (XSD); a write-only drop box offers neither to its writer.
      if (version === '1.0' && !access.read) continue;
      collections.push(this.collectionRecord(version, call.root, collection, access));
    }
    return { kind: 'collection_information_response', collections };
  }

  private collectionRecord(version: Taxii1Version, root: ApiRootInfo, c: CollectionInfo, access: Access): CollectionRecord {
    const pushMethods =
      access.read && this.config.taxii1.pushEnabled
        ? PROTOCOLS.map((p) => ({ protocolBinding: p, messageBindings: [MESSAGE_BINDING['1.0'], MESSAGE_BINDING['1.1']] }))
        : [];
    return {
      name: c.name,
      description: c.description ?? c.title,
      available: true,
      // 1.1: no Content_Binding = every binding (content blocks of any binding are stored). 1.0 must list some.
      contentBindings: version === '1.0' ? [...STIX1_BINDINGS, STIX21_JSON_BINDING].map((id) => ({ id, subtypes: [] })) : [],
      pushMethods,
      pollingServices: access.read ? [this.service(root, 'poll', version)] : [],
      subscriptionServices: access.read ? [this.service(root, 'collection-management', version)] : [],
      receivingInboxes: access.write ? [this.service(root, 'inbox', version, c)] : [],
    };
  }

  // --- collections by name ---

  /**
   * The collection named in a message, if libs/auth lets the caller `operation` it: NOT_FOUND for one
   * it may not see (others' collections look missing), UNAUTHORIZED for one it sees but may not use so.
   */
  private permitted(call: Taxii1Call, name: string, operation: 'read' | 'write'): CollectionInfo {
    const collection = this.catalog.collectionByName(call.root, name);
    const decision = collection === undefined ? undefined : this.catalog.access.authorize(call.principal, { kind: 'collection', collection }, operation);
    if (collection === undefined || decision?.visible !== true) throw new Taxii1Status('NOT_FOUND', `There is no collection ${name}`, [['ITEM', name]]);
    if (!decision.allowed) throw new Taxii1Status('UNAUTHORIZED', `You may not ${operation === 'read' ? 'read' : 'add content to'} collection ${name}`);
    return collection;
  }

  private readable(call: Taxii1Call, name: string): CollectionInfo {
    return this.permitted(call, name, 'read');
  }

  // --- subscriptions ---

  private async subscriptionManagement(msg: SubscriptionManagementRequest, call: Taxii1Call): Promise<SubscriptionManagementResponse> {
    const collection = this.readable(call, msg.collectionName);
    const subs = await this.subscriptionAction(msg, call, collection);
    return { kind: 'subscription_management_response', collectionName: msg.collectionName, subscriptions: subs };
  }

  /** Carries out one action in the order §7.2.2 prescribes; returns the subscriptions to report. */
  private async subscriptionAction(msg: SubscriptionManagementRequest, call: Taxii1Call, collection: CollectionInfo): Promise<SubscriptionRecord[]> {
    if (msg.action === 'SUBSCRIBE') return [await this.subscribe(msg, call, collection)];
    if (msg.action === 'STATUS' && msg.subscriptionId === undefined) {
      const all = await this.store.subscriptions(collection.pk, call.principal.pk);
      return all.map((s) => this.record(s, msg.version, call.root, true));
    }
    const id = msg.subscriptionId ?? '';
    const sub = await this.store.subscription(collection.pk, call.principal.pk, id);
    if (msg.action === 'UNSUBSCRIBE') return [await this.unsubscribe(msg.version, id, sub)];
    if (sub === undefined) throw new Taxii1Status('NOT_FOUND', `You have no subscription ${id} to ${msg.collectionName}`, [['ITEM', id]]);
    if (msg.action === 'STATUS') return [this.record(sub, msg.version, call.root, true)];
    return [await this.setStatus(sub, msg.action === 'PAUSE' ? 'PAUSED' : 'ACTIVE', msg.version, call.root)];
  }

  /** PAUSE or RESUME; pausing a paused or resuming an active subscription changes nothing (§7.2.2 step 6). */
  private async setStatus(sub: SubscriptionRow, status: 'ACTIVE' | 'PAUSED', version: Taxii1Version, root: ApiRootInfo): Promise<SubscriptionRecord> {
    if (sub.status !== status) await this.store.setStatus(sub.pk, status);
    if (status === 'ACTIVE') this.observers.nudgePush();
    return this.record({ ...sub, status }, version, root, false);
  }

  /** Unsubscribing from a subscription that does not exist succeeds and changes nothing (§7.2.2 step 3). */
  private async unsubscribe(version: Taxii1Version, id: string, sub: SubscriptionRow | undefined): Promise<SubscriptionRecord> {
    if (sub !== undefined) await this.store.unsubscribe(sub.pk);
    // cabby reads Subscription_Parameters from every subscription of a 1.1 answer: copy them, or the defaults.
    const parameters = version === '1.1' ? { responseType: sub?.responseType ?? 'FULL', contentBindings: sub?.contentBindings ?? [] } : undefined;
    return { id, status: 'UNSUBSCRIBED', parameters, pollInstances: [] };
  }

  private async subscribe(msg: SubscriptionManagementRequest, call: Taxii1Call, collection: CollectionInfo): Promise<SubscriptionRecord> {
    const params = msg.parameters;
    if (params?.queryFormat !== undefined) throw new Taxii1Status('UNSUPPORTED_QUERY', 'This server supports no query format; subscribe without a Query', []);
    const push = this.checkPush(msg.push);
    // 1.1 names the accepted bindings in the subscription parameters, 1.0 in the push parameters.
    const bindings = normalizeBindings(params?.contentBindings ?? msg.push?.contentBindings ?? []);
    const responseType = params?.responseType ?? 'FULL';
    const fingerprint = fingerprintOf({ v: msg.version, responseType, bindings, push: push ?? null });
    const { row } = await this.store.subscribe({
      collectionPk: collection.pk,
      principalPk: call.principal.pk,
      version: msg.version,
      responseType,
      contentBindings: bindings,
      push,
      fingerprint,
    });
    return this.record(row, msg.version, call.root, false);
  }

  /** Push parameters we can serve: a known protocol matching the address's scheme, an XML binding, an allowed host. */
  private checkPush(p: PushParameters | undefined): { protocol: string; address: string; messageBinding: string } | undefined {
    if (p === undefined) return undefined;
    if (!this.config.taxii1.pushEnabled)
      throw new Taxii1Status('DENIED', 'Push delivery is disabled on this server; subscribe without Push_Parameters and poll');
    if (!PROTOCOLS.includes(p.protocolBinding)) {
      throw new Taxii1Status(
        'UNSUPPORTED_PROTOCOL',
        `Protocol binding ${p.protocolBinding} is not supported`,
        PROTOCOLS.map((x) => ['SUPPORTED_PROTOCOL', x] as const),
      );
    }
    if (p.messageBinding !== MESSAGE_BINDING['1.0'] && p.messageBinding !== MESSAGE_BINDING['1.1']) {
      throw new Taxii1Status('UNSUPPORTED_MESSAGE', `Message binding ${p.messageBinding} is not supported`, [
        ['SUPPORTED_BINDING', MESSAGE_BINDING['1.0']],
        ['SUPPORTED_BINDING', MESSAGE_BINDING['1.1']],
      ]);
    }
    let url: URL;
    try {
      url = new URL(p.address);
    } catch {
      throw new Taxii1Status('BAD_MESSAGE', `The push Address ${p.address.slice(0, 200)} is not an absolute URL`);
    }
    const scheme = p.protocolBinding === PROTOCOL_HTTPS ? 'https:' : 'http:';
    if (url.protocol !== scheme)
      throw new Taxii1Status('UNSUPPORTED_PROTOCOL', `The push Address must be an ${scheme.slice(0, -1)} URL for ${p.protocolBinding}`);
    const problem = addressProblem(url, { allowedHosts: this.config.taxii1.pushAllowedHosts, allowPrivate: this.config.taxii1.pushAllowPrivate });
    if (problem !== undefined) throw new Taxii1Status('DENIED', problem);
    return { protocol: p.protocolBinding, address: p.address, messageBinding: p.messageBinding };
  }

  /**
   * A subscription as a response reports it. 1.1 always copies the parameters and the push
   * parameters (present iff we push to it); 1.0 shows the push parameters only in STATUS answers.
   */
  private record(s: SubscriptionRow, version: Taxii1Version, root: ApiRootInfo, status: boolean): SubscriptionRecord {
    const bindings: Binding[] = s.contentBindings.map((b) => ({ id: b.id, subtypes: b.subtypes }));
    const push =
      s.push === undefined || (version === '1.0' && !status)
        ? undefined
        : { protocolBinding: s.push.protocol, address: s.push.address, messageBinding: s.push.messageBinding, contentBindings: bindings };
    return {
      id: s.id,
      status: s.status,
      parameters: version === '1.1' ? { responseType: s.responseType, contentBindings: bindings } : undefined,
      push,
      pollInstances: [this.service(root, 'poll', version)],
    };
  }

  // --- poll ---

  private async poll(msg: PollRequest, call: Taxii1Call): Promise<PollAnswer> {
    const collection = this.readable(call, msg.collectionName);
    const { bindings, responseType } = await this.selection(msg, call, collection);
    // TAXII 1.0 has no paging: its answer is always complete.
    const partSize = msg.version === '1.0' || responseType === 'COUNT_ONLY' ? Number.MAX_SAFE_INTEGER : this.config.taxii1.partSize;
    const w = await this.store.openWindow({ collectionPk: collection.pk, afterUs: msg.exclusiveBeginUs, throughUs: msg.inclusiveEndUs, bindings, partSize });
    const base = { collectionName: msg.collectionName, subscriptionId: msg.subscriptionId, recordCount: w.count, partialCount: false };
    if (responseType === 'COUNT_ONLY') {
      return this.pollAnswer(call, collection, {
        response: {
          kind: 'poll_response',
          ...base,
          more: false,
          partNumber: 1,
          exclusiveBeginUs: msg.exclusiveBeginUs,
          inclusiveEndUs: w.throughUs,
          blocks: [],
        },
        window: undefined,
      });
    }
    const cuts = partCuts(msg.exclusiveBeginUs, w.cuts, w.throughUs);
    const resultId =
      cuts.length > 2
        ? await this.store.createResultSet(
            {
              collectionPk: collection.pk,
              principalPk: call.principal.pk,
              subscriptionId: msg.subscriptionId,
              contentBindings: bindings,
              cuts,
              recordCount: w.count,
            },
            this.config.taxii1.resultTtlSeconds,
          )
        : undefined;
    return this.part(call, collection, { ...base, resultId, cuts, bindings, part: 1 });
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
    const sub = await this.store.subscription(collection.pk, call.principal.pk, msg.subscriptionId);
    if (sub === undefined)
      throw new Taxii1Status('NOT_FOUND', `You have no subscription ${msg.subscriptionId} to ${msg.collectionName}`, [['ITEM', msg.subscriptionId]]);
    // A 1.0 poll may name content bindings of its own next to the subscription.
    return { bindings: own.length > 0 ? own : sub.contentBindings, responseType: sub.responseType };
  }

  private async fulfill(msg: PollFulfillmentRequest, call: Taxii1Call): Promise<PollAnswer> {
    const collection = this.readable(call, msg.collectionName);
    const rs = await this.store.resultSet(msg.resultId);
    if (rs === undefined || rs.collectionPk !== collection.pk || rs.principalPk !== call.principal.pk) {
      throw new Taxii1Status(
        'NOT_FOUND',
        `There is no result set ${msg.resultId} for ${msg.collectionName} (result sets expire after ${this.config.taxii1.resultTtlSeconds} s)`,
        [['ITEM', msg.resultId]],
      );
    }
    const parts = rs.cuts.length - 1;
    const base = {
      collectionName: msg.collectionName,
      subscriptionId: rs.subscriptionId,
      recordCount: rs.recordCount,
      partialCount: false,
      resultId: rs.id,
      bindings: rs.contentBindings,
    };
    // cabby (0.1.23) asks for the part after the last one and stops only at a part without content
    // blocks: it gets that empty, final part; every other client the INVALID_RESPONSE_PART the
    // specification prescribes (ADR 0010).
    if (msg.partNumber === parts + 1 && call.client === 'cabby') {
      const end = rs.cuts[parts] ?? 0;
      return this.part(call, collection, { ...base, cuts: [end, end], part: 1, number: msg.partNumber });
    }
    if (msg.partNumber > parts) {
      throw new Taxii1Status('INVALID_RESPONSE_PART', `Result set ${msg.resultId} has ${parts} parts`, [['MAX_PART_NUMBER', String(parts)]]);
    }
    return this.part(call, collection, { ...base, cuts: rs.cuts, part: msg.partNumber });
  }

  private part(
    call: Taxii1Call,
    collection: CollectionInfo,
    p: {
      collectionName: string;
      subscriptionId: string | undefined;
      recordCount: number;
      partialCount: boolean;
      resultId: string | undefined;
      cuts: readonly (number | null)[];
      bindings: readonly BindingFilter[];
      part: number;
      /** The part number to report, when it is not `part` (cabby's empty final part). */
      number?: number;
    },
  ): PollAnswer {
    const after = p.cuts[p.part - 1] ?? undefined;
    const through = p.cuts[p.part] ?? 0;
    const more = p.part < p.cuts.length - 1;
    const window =
      after !== undefined && after >= through ? undefined : { collectionPk: collection.pk, afterUs: after, throughUs: through, bindings: p.bindings };
    return this.pollAnswer(call, collection, {
      response: {
        kind: 'poll_response',
        collectionName: p.collectionName,
        subscriptionId: p.subscriptionId,
        more,
        resultId: p.resultId,
        partNumber: p.number ?? p.part,
        exclusiveBeginUs: after,
        inclusiveEndUs: through,
        recordCount: p.recordCount,
        partialCount: p.partialCount,
        blocks: [],
      },
      window,
    });
  }

  private pollAnswer(call: Taxii1Call, collection: CollectionInfo, a: Pick<PollAnswer, 'response' | 'window'>): PollAnswer {
    const ctx = { principal: call.principal, root: call.root, collection, access: { read: true, write: false } };
    return {
      kind: 'poll_stream',
      ...a,
      served: (blocks: number) => {
        this.observers.meter.served(ctx, 'taxii1_poll', { objects: blocks });
        this.observers.audit.record({
          at: new Date(),
          apiRoot: call.root.path,
          collection: collection.name,
          principal: call.principal.name,
          action: 'read',
          endpoint: 'taxii1-poll',
          objectCount: blocks,
          statusId: undefined,
          detail: `part=${a.response.partNumber}${a.response.resultId !== undefined ? ` result=${a.response.resultId}` : ''}`,
        });
      },
    };
  }

  // --- inbox ---

  private async inbox(msg: InboxMessage, call: Taxii1Call): Promise<StatusMessage> {
    const max = this.config.taxii1.maxBlocksPerMessage;
    if (msg.blocks.length > max) {
      throw new Taxii1Status('BAD_MESSAGE', `The message holds ${msg.blocks.length} content blocks; this server takes at most ${max} per message`);
    }
    const targets = this.destinations(msg, call);
    let added;
    try {
      added = await this.store.addBlocks(
        targets.map((t) => t.pk),
        call.principal.pk,
        msg.blocks.map((b) => ({ binding: b.binding, subtype: b.subtype, content: b.content, contentNs: b.contentNs, message: b.message })),
      );
    } catch (e) {
      if (e instanceof QuotaExceeded) {
        const name = targets.find((t) => t.pk === e.collectionPk)?.name ?? '';
        throw new Taxii1Status('DENIED', `Nothing was added: collection ${name} holds at most ${e.max} records`);
      }
      throw e;
    }
    for (const t of targets) {
      const ctx = { principal: call.principal, root: call.root, collection: t, access: { read: false, write: true } };
      this.observers.meter.ingested(ctx, { objects: msg.blocks.length, failures: NO_FAILURES });
      this.observers.audit.record({
        at: new Date(),
        apiRoot: call.root.path,
        collection: t.name,
        principal: call.principal.name,
        action: 'add',
        endpoint: 'taxii1-inbox',
        objectCount: msg.blocks.length,
        statusId: undefined,
        detail: `content blocks=${msg.blocks.length}`,
      });
    }
    if (added.length > 0) this.observers.nudgePush();
    const names = targets.map((t) => t.name).join(', ');
    return { kind: 'status', type: 'SUCCESS', message: `${msg.blocks.length} content block(s) added to ${names}` };
  }

  /**
   * Where an Inbox Message goes: a collection's own inbox takes it into that collection; the API
   * root's inbox takes the Destination_Collection_Names (1.1), or the one collection the caller may
   * write to. Any name the caller may not write to refuses the whole message.
   */
  private destinations(msg: InboxMessage, call: Taxii1Call): CollectionInfo[] {
    const writable = this.catalog.access.visibleCollections(call.root, call.principal).filter((v) => v.access.write);
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

/**
 * The labels that bound each part: cuts[0] the exclusive lower bound (null = none), cuts[k] the
 * last label of part k, the last one the window's upper bound.
 */
export function partCuts(afterUs: number | undefined, interior: readonly number[], throughUs: number): (number | null)[] {
  return [afterUs ?? null, ...interior, throughUs];
}

/** Identifies identical SUBSCRIBE requests, which get the existing subscription back (§7.2.2 step 5). */
function fingerprintOf(request: unknown): string {
  return createHash('sha256').update(JSON.stringify(request)).digest('hex');
}

function normalizeBindings(bindings: readonly Binding[]): BindingFilter[] {
  return [...bindings].map((b) => ({ id: b.id, subtypes: [...b.subtypes].sort() })).sort((a, b) => a.id.localeCompare(b.id));
}

/** Content blocks of the store as messages carry them. */
export function toContentBlock(b: StoredBlock): {
  binding: string;
  subtype: string | undefined;
  content: string;
  contentNs: Readonly<Record<string, string>>;
  timestampLabelUs: number;
  message: string | undefined;
} {
  return { binding: b.binding, subtype: b.subtype, content: b.content, contentNs: b.contentNs, timestampLabelUs: b.labelUs, message: b.message };
}
