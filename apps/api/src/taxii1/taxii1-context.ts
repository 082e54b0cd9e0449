import type { Config } from '@taxiway/config';
import type {
  ApiRootInfo,
  AuditSink,
  BindingFilter,
  BlockQuery,
  CollectionInfo,
  PrincipalInfo,
  StoredBlock,
  SubscriptionRow,
  Taxii1Store,
} from '@taxiway/domain';
import {
  MESSAGE_BINDING,
  PROTOCOL_HTTP,
  PROTOCOL_HTTPS,
  type Binding,
  type CollectionInformationResponse,
  type ContentBlock,
  type DiscoveryResponse,
  type PollResponse,
  type ServiceAddress,
  type StatusMessage,
  type SubscriptionManagementResponse,
  type Taxii1Version,
} from '@taxiway/taxii1';
import type { CatalogService } from '../catalog/catalog.service';
import type { SharingMeter } from '../taxii/taxii.service';
import { Taxii1Status } from './taxii1-status';

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
  /** The records to stream (the response's window); undefined for COUNT_ONLY and for an empty window. */
  readonly read: BlockQuery | undefined;
  /** Called with the number of blocks once streamed. */
  readonly served: (blocks: number) => void;
}

export type Taxii1Answer = StatusMessage | DiscoveryResponse | CollectionInformationResponse | SubscriptionManagementResponse | PollAnswer;

export interface Taxii1Observers {
  readonly audit: AuditSink;
  readonly meter: SharingMeter;
  /** Wakes the push worker after content was added or a subscription resumed. */
  readonly nudgePush: () => void;
}

/** What every TAXII 1.x service shares: the store, the catalogue, the config, the observers; addresses and access checks. */
export class Taxii1Context {
  constructor(
    readonly store: Taxii1Store,
    readonly catalog: CatalogService,
    readonly config: Config,
    readonly observers: Taxii1Observers,
  ) {}

  /** The absolute address of a service of an API root (a collection's own inbox with `collection`). */
  address(root: ApiRootInfo, service: Taxii1ServiceName, collection?: CollectionInfo): string {
    const base = `${this.config.publicBaseUrl}/taxii1/${encodeURIComponent(root.path)}/${service}/`;
    return collection === undefined ? base : `${base}${encodeURIComponent(collection.name)}/`;
  }

  /** A service as messages advertise it: the protocol binding of PUBLIC_BASE_URL, its address, the message binding of `version`. */
  serviceAddress(root: ApiRootInfo, service: Taxii1ServiceName, version: Taxii1Version, collection?: CollectionInfo): ServiceAddress {
    const protocolBinding = this.config.publicBaseUrl.startsWith('https:') ? PROTOCOL_HTTPS : PROTOCOL_HTTP;
    return { protocolBinding, address: this.address(root, service, collection), messageBindings: [MESSAGE_BINDING[version]] };
  }

  /**
   * The collection named in a message, if libs/auth lets the caller `operation` it: NOT_FOUND for one
   * it may not see (others' collections look missing), UNAUTHORIZED for one it sees but may not use so.
   */
  permitted(call: Taxii1Call, name: string, operation: 'read' | 'write'): CollectionInfo {
    const collection = this.catalog.collectionByName(call.root, name);
    const decision = collection === undefined ? undefined : this.catalog.access.authorize(call.principal, { kind: 'collection', collection }, operation);
    if (collection === undefined || decision?.visible !== true) throw new Taxii1Status('NOT_FOUND', `There is no collection ${name}`, [['ITEM', name]]);
    if (!decision.allowed) throw new Taxii1Status('UNAUTHORIZED', `You may not ${operation === 'read' ? 'read' : 'add content to'} collection ${name}`);
    return collection;
  }

  /** The caller's subscription `id` to a collection (`named` as in the message); NOT_FOUND if it has none such. */
  async subscription(call: Taxii1Call, collection: CollectionInfo, id: string, named: string): Promise<SubscriptionRow> {
    const sub = await this.store.subscription(collection.pk, call.principal.pk, id);
    if (sub === undefined) throw new Taxii1Status('NOT_FOUND', `You have no subscription ${id} to ${named}`, [['ITEM', id]]);
    return sub;
  }
}

/** Bindings as the store compares them: subtypes sorted, bindings sorted by id (so equal requests fingerprint alike). */
export function normalizeBindings(bindings: readonly Binding[]): BindingFilter[] {
  return [...bindings].map((b) => ({ id: b.id, subtypes: [...b.subtypes].sort() })).sort((a, b) => a.id.localeCompare(b.id));
}

/** Content blocks of the store as messages carry them. */
export function toContentBlock(b: StoredBlock): ContentBlock & { readonly timestampLabelUs: number } {
  return { binding: b.binding, subtype: b.subtype, content: b.content, contentNs: b.contentNs, timestampLabelUs: b.labelUs, message: b.message };
}
