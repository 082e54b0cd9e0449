import { randomBytes, randomUUID } from 'node:crypto';
import type { Window } from '@taxiway/domain';
import { NS, PREFIX, SERVICES, STATUS_TYPES_10, type Taxii1Version } from './constants';
import { formatLabel } from './labels';
import type {
  Binding,
  CollectionRecord,
  ContentBlock,
  OutboundInbox,
  PollResponse,
  PushParameters,
  ServiceAddress,
  ServiceInstance,
  StatusMessage,
  SubscriptionManagementResponse,
  SubscriptionRecord,
  Taxii1Response,
} from './messages';
import { escapeAttr, escapeText } from './xml';

/** A fresh message id: decimal digits for TAXII 1.0, a UUID for 1.1 (never reused: 63 random bits / UUIDv4). */
export function newMessageId(version: Taxii1Version): string {
  if (version === '1.1') return randomUUID();
  return (randomBytes(8).readBigUInt64BE() >> 1n).toString();
}

type Attrs = readonly (readonly [string, string | number | boolean | undefined])[];

/** Writes one message in the XML binding of one version, children in binding order. */
class Writer {
  private readonly out: string[] = [];
  private readonly p: string;

  constructor(readonly version: Taxii1Version) {
    this.p = PREFIX[version];
  }

  toString(): string {
    return this.out.join('');
  }

  private attrs(a: Attrs): string {
    let s = '';
    for (const [k, v] of a) if (v !== undefined) s += ` ${k}="${escapeAttr(String(v))}"`;
    return s;
  }

  open(name: string, a: Attrs = [], extra = ''): void {
    this.out.push(`<${this.p}:${name}${this.attrs(a)}${extra}>`);
  }

  close(name: string): void {
    this.out.push(`</${this.p}:${name}>`);
  }

  empty(name: string, a: Attrs = []): void {
    this.out.push(`<${this.p}:${name}${this.attrs(a)}/>`);
  }

  leaf(name: string, text: string | number | undefined, a: Attrs = []): void {
    if (text === undefined) return;
    this.out.push(`<${this.p}:${name}${this.attrs(a)}>${escapeText(String(text))}</${this.p}:${name}>`);
  }

  raw(s: string): void {
    this.out.push(s);
  }

  root(name: string, a: Attrs, body: () => void): void {
    this.open(name, a, ` xmlns:${this.p}="${NS[this.version]}"`);
    body();
    this.close(name);
  }

  address(name: string, s: ServiceAddress): void {
    this.open(name);
    this.bind3(s);
    this.close(name);
  }

  bind3(s: ServiceAddress): void {
    this.leaf('Protocol_Binding', s.protocolBinding);
    this.leaf('Address', s.address);
    for (const m of s.messageBindings) this.leaf('Message_Binding', m);
  }

  /** Supported/accepted content bindings: 1.1 `binding_id` with subtypes, 1.0 element text. */
  binding(b: Binding): void {
    if (this.version === '1.0') {
      this.leaf('Content_Binding', b.id);
      return;
    }
    if (b.subtypes.length === 0) {
      this.empty('Content_Binding', [['binding_id', b.id]]);
      return;
    }
    this.open('Content_Binding', [['binding_id', b.id]]);
    for (const s of b.subtypes) this.empty('Subtype', [['subtype_id', s]]);
    this.close('Content_Binding');
  }

  block(b: ContentBlock): void {
    this.open('Content_Block');
    this.binding({ id: b.binding, subtypes: b.subtype === undefined || this.version === '1.0' ? [] : [b.subtype] });
    this.out.push(`<${this.p}:Content${this.contentNs(b.contentNs)}>`, b.content, `</${this.p}:Content>`);
    if (b.timestampLabelUs !== undefined) this.leaf('Timestamp_Label', formatLabel(b.timestampLabelUs));
    if (this.version === '1.1') this.leaf('Message', b.message);
    this.close('Content_Block');
  }

  /** Re-declares the namespaces the stored content had in scope, so it means the same here. */
  private contentNs(ns: Readonly<Record<string, string>>): string {
    let s = '';
    for (const [prefix, uri] of Object.entries(ns)) {
      if (prefix === 'xml' || prefix === 'xmlns' || prefix === this.p) continue;
      if (prefix === '') {
        if (uri !== '') s += ` xmlns="${escapeAttr(uri)}"`;
      } else s += ` xmlns:${prefix}="${escapeAttr(uri)}"`;
    }
    return s;
  }
}

/** Serializes a response (or an outbound Inbox Message) as a complete XML document. */
export function serializeMessage(msg: Taxii1Response, version: Taxii1Version, inResponseTo: string, messageId = newMessageId(version)): string {
  const w = new Writer(version);
  w.raw('<?xml version="1.0" encoding="UTF-8"?>\n');
  const head: Attrs = [
    ['message_id', messageId],
    ['in_response_to', inResponseTo],
  ];
  switch (msg.kind) {
    case 'status':
      writeStatus(w, msg, head);
      break;
    case 'discovery_response':
      w.root('Discovery_Response', head, () => msg.services.forEach((s) => writeService(w, s)));
      break;
    case 'collection_information_response':
      w.root(version === '1.1' ? 'Collection_Information_Response' : 'Feed_Information_Response', head, () =>
        msg.collections.forEach((c) => (version === '1.1' ? writeCollection(w, c) : writeFeed(w, c))),
      );
      break;
    case 'subscription_management_response':
      writeSubscriptionResponse(w, msg, head);
      break;
    case 'poll_response':
      writePollResponse(w, msg, head);
      break;
    case 'inbox_message':
      writeInbox(w, msg, messageId);
      break;
  }
  return w.toString();
}

function writeStatus(w: Writer, msg: StatusMessage, head: Attrs): void {
  const v10 = w.version === '1.0';
  const type = v10 && !STATUS_TYPES_10.has(msg.type) ? 'FAILURE' : msg.type;
  w.root('Status_Message', [...head, ['status_type', type]], () => {
    const details = msg.details ?? [];
    if (v10) {
      const detailed = type.startsWith('UNSUPPORTED_') || type === 'RETRY';
      if (detailed && details.length > 0) w.leaf('Status_Detail', detail10(type, details));
    } else if (details.length > 0) {
      w.open('Status_Detail');
      for (const [name, value] of details) w.leaf('Detail', value, [['name', name]]);
      w.close('Status_Detail');
    }
    w.leaf('Message', msg.message);
  });
}

/**
 * A 1.0 Status_Detail: the space-separated ids for UNSUPPORTED_*, and for RETRY the time a retry may
 * succeed (RFC 3339; 1.1 says ESTIMATED_WAIT in seconds instead).
 */
function detail10(type: string, details: readonly (readonly [string, string])[]): string {
  if (type === 'RETRY') {
    const wait = Number(details.find(([n]) => n === 'ESTIMATED_WAIT')?.[1] ?? 0);
    return formatLabel((Date.now() + wait * 1000) * 1000);
  }
  return details.map(([, v]) => v).join(' ');
}

function writeService(w: Writer, s: ServiceInstance): void {
  w.open('Service_Instance', [
    ['service_type', w.version === '1.0' && s.type === 'COLLECTION_MANAGEMENT' ? 'FEED_MANAGEMENT' : s.type],
    ['service_version', SERVICES[w.version]],
    ['available', s.available],
  ]);
  w.bind3(s);
  for (const b of s.contentBindings ?? []) w.binding(b);
  w.leaf('Message', s.message);
  w.close('Service_Instance');
}

function writeCollection(w: Writer, c: CollectionRecord): void {
  w.open('Collection', [
    ['collection_name', c.name],
    ['collection_type', 'DATA_FEED'],
    ['available', c.available],
  ]);
  w.leaf('Description', c.description);
  w.leaf('Collection_Volume', c.volume);
  for (const b of c.contentBindings) w.binding(b);
  writePushMethods(w, c);
  for (const s of c.pollingServices) w.address('Polling_Service', s);
  for (const s of c.subscriptionServices) w.address('Subscription_Service', s);
  for (const s of c.receivingInboxes) w.address('Receiving_Inbox_Service', s);
  w.close('Collection');
}

function writePushMethods(w: Writer, c: CollectionRecord): void {
  for (const m of c.pushMethods) {
    w.open('Push_Method');
    w.leaf('Protocol_Binding', m.protocolBinding);
    for (const b of m.messageBindings) w.leaf('Message_Binding', b);
    w.close('Push_Method');
  }
}

/** 1.0 feeds need at least one content binding and one push method or polling service (XSD). */
function writeFeed(w: Writer, c: CollectionRecord): void {
  w.open('Feed', [
    ['feed_name', c.name],
    ['available', c.available],
  ]);
  w.leaf('Description', c.description);
  for (const b of c.contentBindings) w.binding(b);
  writePushMethods(w, c);
  for (const s of c.pollingServices) w.address('Polling_Service', s);
  for (const s of c.subscriptionServices) w.address('Subscription_Service', s);
  w.close('Feed');
}

function writePush(w: Writer, p: PushParameters): void {
  w.open('Push_Parameters');
  w.leaf('Protocol_Binding', p.protocolBinding);
  w.leaf('Address', p.address);
  w.leaf('Message_Binding', p.messageBinding);
  if (w.version === '1.0') for (const b of p.contentBindings) w.binding(b);
  w.close('Push_Parameters');
}

function writeSubscription(w: Writer, s: SubscriptionRecord): void {
  if (w.version === '1.0') {
    w.open('Subscription', [['subscription_id', s.id]]);
  } else {
    w.open('Subscription', [['status', s.status]]);
    w.leaf('Subscription_ID', s.id);
    if (s.parameters !== undefined) {
      w.open('Subscription_Parameters');
      w.leaf('Response_Type', s.parameters.responseType);
      for (const b of s.parameters.contentBindings) w.binding(b);
      w.close('Subscription_Parameters');
    }
  }
  if (s.push !== undefined) writePush(w, s.push);
  for (const p of s.pollInstances) w.address('Poll_Instance', p);
  w.close('Subscription');
}

function writeSubscriptionResponse(w: Writer, msg: SubscriptionManagementResponse, head: Attrs): void {
  w.root('Subscription_Management_Response', [...head, [w.version === '1.1' ? 'collection_name' : 'feed_name', msg.collectionName]], () => {
    w.leaf('Message', msg.message);
    msg.subscriptions.forEach((s) => writeSubscription(w, s));
  });
}

function writePollResponse(w: Writer, msg: PollResponse, head: Attrs): void {
  if (w.version === '1.0') {
    w.root('Poll_Response', [...head, ['feed_name', msg.collectionName], ['subscription_id', msg.subscriptionId]], () => {
      w.leaf('Message', msg.message);
      writeBounds(w, msg.window);
      msg.blocks.forEach((b) => w.block(b));
    });
    return;
  }
  const attrs: Attrs = [
    ...head,
    ['collection_name', msg.collectionName],
    ['more', msg.more],
    ['result_id', msg.resultId],
    ['result_part_number', msg.partNumber],
  ];
  w.root('Poll_Response', attrs, () => {
    w.leaf('Subscription_ID', msg.subscriptionId);
    writeBounds(w, msg.window);
    w.leaf('Record_Count', msg.recordCount, [['partial_count', msg.partialCount]]);
    w.leaf('Message', msg.message);
    msg.blocks.forEach((b) => w.block(b));
  });
}

/**
 * A window's bounds: 1.1 writes the exclusive lower bound, 1.0 the inclusive one (Window.firstUs,
 * digest D14); the end is inclusive in both. No lower bound = from the start.
 */
function writeBounds(w: Writer, window: Window): void {
  if (w.version === '1.0') {
    if (window.firstUs !== undefined) w.leaf('Inclusive_Begin_Timestamp', formatLabel(window.firstUs));
  } else if (window.afterUs !== undefined) {
    w.leaf('Exclusive_Begin_Timestamp', formatLabel(window.afterUs));
  }
  w.leaf('Inclusive_End_Timestamp', formatLabel(window.throughUs));
}

function writeInbox(w: Writer, msg: OutboundInbox, messageId: string): void {
  const s = msg.source;
  w.root('Inbox_Message', [['message_id', messageId]], () => {
    w.leaf('Message', msg.message);
    if (w.version === '1.0') {
      w.open('Source_Subscription', [
        ['feed_name', s.collectionName],
        ['subscription_id', s.subscriptionId],
      ]);
      writeBounds(w, s.window);
      w.close('Source_Subscription');
    } else {
      w.open('Source_Subscription', [['collection_name', s.collectionName]]);
      w.leaf('Subscription_ID', s.subscriptionId);
      writeBounds(w, s.window);
      w.close('Source_Subscription');
      w.leaf('Record_Count', msg.recordCount);
    }
    msg.blocks.forEach((b) => w.block(b));
  });
}

/** Content blocks as they appear inside a Poll_Response or Inbox_Message of `version` (for streaming a long answer). */
export function serializeBlocks(blocks: readonly ContentBlock[], version: Taxii1Version): string {
  const w = new Writer(version);
  blocks.forEach((b) => w.block(b));
  return w.toString();
}

/**
 * A message with no content blocks, split where its content blocks go (just before the closing
 * tag of the root): `head + blocks + tail` is the whole message.
 */
export function serializeAround(msg: PollResponse | OutboundInbox, version: Taxii1Version, inResponseTo: string): { head: string; tail: string } {
  const doc = serializeMessage({ ...msg, blocks: [] }, version, inResponseTo);
  const at = doc.lastIndexOf('</');
  return { head: doc.slice(0, at), tail: doc.slice(at) };
}
