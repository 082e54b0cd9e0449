import type { RequestedWindow, Window } from '@taxiway/domain';
import type { ServiceType, StatusType, Taxii1Version } from './constants';

/** The TAXII 1.0/1.1 messages the server reads and writes, independent of the XML binding. */

/** A content binding with its subtypes (1.1); 1.0 bindings have none. */
export interface Binding {
  readonly id: string;
  readonly subtypes: readonly string[];
}

export interface ContentBlock {
  readonly binding: string;
  readonly subtype?: string | undefined;
  /** The `<Content>` element's content exactly as received: markup for XML content, escaped text otherwise. */
  readonly content: string;
  /** Namespace declarations in scope at `<Content>` that the content may rely on (prefix '' = default). */
  readonly contentNs: Readonly<Record<string, string>>;
  readonly timestampLabelUs?: number | undefined;
  readonly message?: string | undefined;
}

export interface PushParameters {
  readonly protocolBinding: string;
  readonly address: string;
  readonly messageBinding: string;
  /** 1.0 only: the bindings the subscriber accepts (1.1 carries them in the subscription parameters). */
  readonly contentBindings: readonly Binding[];
}

export type ResponseType = 'FULL' | 'COUNT_ONLY';

export interface SubscriptionParameters {
  readonly responseType: ResponseType;
  readonly contentBindings: readonly Binding[];
  /** The query's format id, when a query was sent (queries are not supported). */
  readonly queryFormat?: string | undefined;
}

interface Envelope {
  readonly version: Taxii1Version;
  readonly messageId: string;
}

export interface DiscoveryRequest extends Envelope {
  readonly kind: 'discovery';
}

export interface CollectionInformationRequest extends Envelope {
  readonly kind: 'collection_information';
}

export type SubscriptionAction = 'SUBSCRIBE' | 'UNSUBSCRIBE' | 'PAUSE' | 'RESUME' | 'STATUS';

export interface SubscriptionManagementRequest extends Envelope {
  readonly kind: 'subscription_management';
  readonly collectionName: string;
  readonly action: SubscriptionAction;
  readonly subscriptionId?: string | undefined;
  /** 1.1: present iff SUBSCRIBE. 1.0 has none (FULL, bindings from the push parameters). */
  readonly parameters?: SubscriptionParameters | undefined;
  readonly push?: PushParameters | undefined;
}

export interface PollParameters {
  readonly allowAsynch: boolean;
  readonly responseType: ResponseType;
  readonly contentBindings: readonly Binding[];
  readonly queryFormat?: string | undefined;
}

export interface PollRequest extends Envelope {
  readonly kind: 'poll';
  readonly collectionName: string;
  readonly subscriptionId?: string | undefined;
  /** Exclusive_Begin_Timestamp and Inclusive_End_Timestamp, each optional. */
  readonly window: RequestedWindow;
  /** 1.1: exactly one of subscriptionId / parameters. 1.0: content bindings only. */
  readonly parameters?: PollParameters | undefined;
}

export interface PollFulfillmentRequest extends Envelope {
  readonly kind: 'poll_fulfillment';
  readonly collectionName: string;
  readonly resultId: string;
  readonly partNumber: number;
}

/** The Source_Subscription of a received Inbox Message, as given (its bounds are not checked or used). */
export interface SourceSubscription {
  readonly collectionName: string;
  readonly subscriptionId: string;
  /** The exclusive lower bound (1.0's inclusive one converted). */
  readonly afterUs?: number | undefined;
  readonly throughUs?: number | undefined;
}

export interface InboxMessage extends Envelope {
  readonly kind: 'inbox';
  readonly destinations: readonly string[];
  readonly resultId?: string | undefined;
  readonly message?: string | undefined;
  readonly source?: SourceSubscription | undefined;
  readonly recordCount?: { readonly count: number; readonly partial: boolean } | undefined;
  readonly blocks: readonly ContentBlock[];
}

export type Taxii1Request =
  DiscoveryRequest | CollectionInformationRequest | SubscriptionManagementRequest | PollRequest | PollFulfillmentRequest | InboxMessage;

/** Service address triple (BIND3 in the digest). */
export interface ServiceAddress {
  readonly protocolBinding: string;
  readonly address: string;
  readonly messageBindings: readonly string[];
}

export interface ServiceInstance extends ServiceAddress {
  readonly type: ServiceType;
  readonly available?: boolean | undefined;
  /** Inbox only: accepted content bindings (absent = all). */
  readonly contentBindings?: readonly Binding[] | undefined;
  readonly message?: string | undefined;
}

export interface CollectionRecord {
  readonly name: string;
  readonly description: string;
  readonly available?: boolean | undefined;
  readonly volume?: number | undefined;
  readonly contentBindings: readonly Binding[];
  readonly pushMethods: readonly { readonly protocolBinding: string; readonly messageBindings: readonly string[] }[];
  readonly pollingServices: readonly ServiceAddress[];
  readonly subscriptionServices: readonly ServiceAddress[];
  readonly receivingInboxes: readonly ServiceAddress[];
}

export type SubscriptionStatus = 'ACTIVE' | 'PAUSED' | 'UNSUBSCRIBED';

export interface SubscriptionRecord {
  readonly id: string;
  readonly status: SubscriptionStatus;
  readonly parameters?: SubscriptionParameters | undefined;
  readonly push?: PushParameters | undefined;
  readonly pollInstances: readonly ServiceAddress[];
}

export interface StatusMessage {
  readonly kind: 'status';
  readonly type: StatusType;
  /** 1.1 name/value details (e.g. MAX_PART_NUMBER); for 1.0 the values are joined with spaces. */
  readonly details?: readonly (readonly [string, string])[] | undefined;
  readonly message?: string | undefined;
}

export interface DiscoveryResponse {
  readonly kind: 'discovery_response';
  readonly services: readonly ServiceInstance[];
}

export interface CollectionInformationResponse {
  readonly kind: 'collection_information_response';
  readonly collections: readonly CollectionRecord[];
}

export interface SubscriptionManagementResponse {
  readonly kind: 'subscription_management_response';
  readonly collectionName: string;
  readonly message?: string | undefined;
  readonly subscriptions: readonly SubscriptionRecord[];
}

export interface PollResponse {
  readonly kind: 'poll_response';
  readonly collectionName: string;
  readonly subscriptionId?: string | undefined;
  readonly more: boolean;
  readonly resultId?: string | undefined;
  readonly partNumber: number;
  /** The window the answer covers: its lower bound (if any) and end are reported. */
  readonly window: Window;
  readonly recordCount: number;
  readonly partialCount: boolean;
  readonly message?: string | undefined;
  readonly blocks: readonly ContentBlock[];
}

/** An Inbox Message the server sends (push delivery). */
export interface OutboundInbox {
  readonly kind: 'inbox_message';
  readonly message?: string | undefined;
  readonly source: { readonly collectionName: string; readonly subscriptionId: string; readonly window: Window };
  readonly recordCount: number;
  readonly blocks: readonly ContentBlock[];
}

export type Taxii1Response = StatusMessage | DiscoveryResponse | CollectionInformationResponse | SubscriptionManagementResponse | PollResponse | OutboundInbox;
