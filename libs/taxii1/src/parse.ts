import { InvalidWindow, Window, type RequestedWindow } from '@taxiway/domain';
import { NS, type Taxii1Version } from './constants';
import { parseLabel } from './labels';
import type {
  Binding,
  ContentBlock,
  InboxMessage,
  PollParameters,
  PollRequest,
  PushParameters,
  ResponseType,
  SourceSubscription,
  SubscriptionAction,
  SubscriptionManagementRequest,
  SubscriptionParameters,
  Taxii1Request,
} from './messages';
import { decodeXml, parseXml, scopeOf, XmlRejected, type XmlElement, type XmlLimits } from './xml';

const DSIG_NS = 'http://www.w3.org/2000/09/xmldsig#';

/** A message that cannot be interpreted: answered with BAD_MESSAGE (in_response_to its id, or 0). */
export class BadMessage extends Error {
  constructor(
    message: string,
    readonly messageId: string | undefined,
  ) {
    super(message);
    this.name = 'BadMessage';
  }
}

/** The message's root is a TAXII message of the other version than the headers named. */
export class VersionMismatch extends BadMessage {}

/** A content block's payload is kept as source text, not built into the tree. */
const isContent = (ns: string, local: string): boolean => local === 'Content' && (ns === NS['1.1'] || ns === NS['1.0']);

/** One entry of an XSD-like sequence: element local name (in the message's namespace), occurrences. */
type Particle = readonly [name: string, min: number, max: number];

const SIG = '#sig';
const EH: Particle = ['Extended_Headers', 0, 1];
const SIGNATURE: Particle = [SIG, 0, 1];

/** What a content block's namespace declarations may add to its size (bytes). */
export const NS_ALLOWANCE = 4096;
const UNPREFIXED_ELEMENT = /<[A-Za-z_][\w.-]*[\s/>]/;

/** Reads the body of a TAXII 1.x request of the given version into a message, validating it. */
export function parseRequest(body: Buffer, version: Taxii1Version, limits?: XmlLimits): Taxii1Request {
  let root: XmlElement;
  let text: string;
  try {
    text = decodeXml(body);
    root = parseXml(text, limits, isContent);
  } catch (e) {
    if (e instanceof XmlRejected) throw new BadMessage(e.message, undefined);
    throw e;
  }
  const ns = NS[version];
  if (root.ns !== ns) {
    const other = root.ns === NS['1.0'] || root.ns === NS['1.1'];
    const msg = other
      ? `The message is in the TAXII ${version === '1.1' ? '1.0' : '1.1'} namespace but X-TAXII-Content-Type names TAXII ${version}`
      : `The root element {${root.ns}}${root.local} is not a TAXII ${version} message`;
    throw other ? new VersionMismatch(msg, undefined) : new BadMessage(msg, undefined);
  }
  const messageId = readMessageId(root, version);
  try {
    return new Reader(version, messageId, text).message(root);
  } catch (e) {
    if (e instanceof BadMessage) throw new BadMessage(e.message, messageId);
    throw e;
  }
}

function readMessageId(root: XmlElement, version: Taxii1Version): string {
  const id = root.attrs.get('message_id')?.trim();
  if (id === undefined || id.trim() === '') throw new BadMessage(`${root.local} has no message_id`, undefined);
  if (version === '1.0' && !/^[0-9]+$/.test(id)) throw new BadMessage('A TAXII 1.0 message_id is a string of digits', undefined);
  if (/\s/.test(id)) throw new BadMessage('message_id is not a URI', undefined);
  return id;
}

class Reader {
  private readonly ns: string;

  constructor(
    private readonly version: Taxii1Version,
    private readonly messageId: string,
    private readonly source: string,
  ) {
    this.ns = NS[version];
  }

  private bad(message: string): BadMessage {
    return new BadMessage(message, this.messageId);
  }

  message(root: XmlElement): Taxii1Request {
    const read = (this.version === '1.1' ? this.readers11 : this.readers10)[root.local];
    if (read === undefined) throw this.bad(`${root.local} is not a TAXII ${this.version} request message`);
    return read(root);
  }

  private empty(kind: 'discovery' | 'collection_information'): (root: XmlElement) => Taxii1Request {
    return (root) => {
      this.sequence(root, [EH, SIGNATURE]);
      return { version: this.version, messageId: this.messageId, kind };
    };
  }

  /** The request messages of each version, by root element name. */
  private readonly readers11: Readonly<Record<string, (root: XmlElement) => Taxii1Request>> = {
    Discovery_Request: this.empty('discovery'),
    Collection_Information_Request: this.empty('collection_information'),
    Subscription_Management_Request: (r) => this.subscription11(r),
    Poll_Request: (r) => this.poll11(r),
    Poll_Fulfillment: (r) => this.fulfillment(r),
    Inbox_Message: (r) => this.inbox11(r),
  };

  private readonly readers10: Readonly<Record<string, (root: XmlElement) => Taxii1Request>> = {
    Discovery_Request: this.empty('discovery'),
    Feed_Information_Request: this.empty('collection_information'),
    Subscription_Management_Request: (r) => this.subscription10(r),
    Poll_Request: (r) => this.poll10(r),
    Inbox_Message: (r) => this.inbox10(r),
  };

  /**
   * Checks the children against an XSD sequence (TAXII children in `ns`, then an optional
   * ds:Signature) and returns them by name.
   */
  private sequence(el: XmlElement, particles: readonly Particle[]): Map<string, XmlElement[]> {
    const out = new Map<string, XmlElement[]>();
    let i = 0;
    for (const child of el.children) {
      const name = this.nameOf(child, el);
      while (i < particles.length && particles[i]![0] !== name) {
        this.checkMin(el, particles[i]!, out);
        i++;
      }
      const p = particles[i];
      if (p === undefined) throw this.bad(`${el.local} has an unexpected or misplaced child ${child.local}`);
      const list = out.get(name) ?? [];
      list.push(child);
      if (list.length > p[2]) throw this.bad(`${el.local} has more than ${p[2]} ${name}`);
      out.set(name, list);
    }
    for (; i < particles.length; i++) this.checkMin(el, particles[i]!, out);
    if (el.text.trim() !== '') throw this.bad(`${el.local} has unexpected text content`);
    return out;
  }

  private nameOf(child: XmlElement, parent: XmlElement): string {
    if (child.ns === DSIG_NS && child.local === 'Signature') return SIG;
    if (child.ns !== this.ns) throw this.bad(`${parent.local} has a child in a foreign namespace: {${child.ns}}${child.local}`);
    return child.local;
  }

  private checkMin(el: XmlElement, p: Particle, out: Map<string, XmlElement[]>): void {
    if ((out.get(p[0])?.length ?? 0) < p[1]) throw this.bad(`${el.local} is missing ${p[0]}`);
  }

  /** An attribute's value, whitespace-collapsed as xs:anyURI and the enumerations are. */
  private attr(el: XmlElement, name: string): string {
    const v = el.attrs.get(name)?.trim();
    if (v === undefined || v === '') throw this.bad(`${el.local} has no ${name}`);
    return v;
  }

  private text(el: XmlElement | undefined): string | undefined {
    if (el === undefined) return undefined;
    if (el.children.length > 0) throw this.bad(`${el.local} must hold text only`);
    return el.text.trim();
  }

  private requiredText(el: XmlElement | undefined, what: string): string {
    const t = this.text(el);
    if (t === undefined || t === '') throw this.bad(`${what} is empty`);
    return t;
  }

  private label(el: XmlElement | undefined): number | undefined {
    if (el === undefined) return undefined;
    const t = this.text(el) ?? '';
    const us = parseLabel(t);
    if (us === undefined) throw this.bad(`${el.local} is not a timestamp with a time zone and at most six fractional digits: ${t.slice(0, 60)}`);
    return us;
  }

  private bool(el: XmlElement, name: string, dflt: boolean): boolean {
    const v = el.attrs.get(name)?.trim();
    if (v === undefined) return dflt;
    if (v === 'true' || v === '1') return true;
    if (v === 'false' || v === '0') return false;
    throw this.bad(`${el.local}@${name} is not a boolean`);
  }

  private enumAttr<T extends string>(el: XmlElement, name: string, allowed: readonly T[]): T {
    const v = this.attr(el, name);
    if (!(allowed as readonly string[]).includes(v)) throw this.bad(`${el.local}@${name} must be one of ${allowed.join(', ')}`);
    return v as T;
  }

  private binding11(el: XmlElement): Binding {
    const parts = this.sequence(el, [['Subtype', 0, Number.MAX_SAFE_INTEGER]]);
    const subtypes = (parts.get('Subtype') ?? []).map((s) => this.attr(s, 'subtype_id'));
    return { id: this.attr(el, 'binding_id'), subtypes };
  }

  private bindings(els: readonly XmlElement[] | undefined): Binding[] {
    return (els ?? []).map((b) => (this.version === '1.1' ? this.binding11(b) : { id: this.requiredText(b, 'Content_Binding'), subtypes: [] }));
  }

  private responseType(el: XmlElement | undefined): ResponseType {
    const t = this.text(el);
    if (t === undefined) return 'FULL';
    if (t === 'FULL' || t === 'COUNT_ONLY') return t;
    throw this.bad('Response_Type must be FULL or COUNT_ONLY');
  }

  private queryFormat(el: XmlElement | undefined): string | undefined {
    return el === undefined ? undefined : this.attr(el, 'format_id');
  }

  private subscription11(root: XmlElement): SubscriptionManagementRequest {
    const action = this.enumAttr<SubscriptionAction>(root, 'action', ['SUBSCRIBE', 'UNSUBSCRIBE', 'PAUSE', 'RESUME', 'STATUS']);
    const parts = this.sequence(root, [EH, ['Subscription_ID', 0, 1], ['Subscription_Parameters', 0, 1], ['Push_Parameters', 0, 1], SIGNATURE]);
    const subscriptionId = this.subscriptionIdFor(action, parts.get('Subscription_ID')?.[0]);
    const subscribe = action === 'SUBSCRIBE';
    const paramsEl = parts.get('Subscription_Parameters')?.[0];
    if (subscribe !== (paramsEl !== undefined)) throw this.bad('Subscription_Parameters must be present if and only if the action is SUBSCRIBE');
    // Push parameters are only meaningful for SUBSCRIBE and ignored otherwise.
    const pushEl = subscribe ? parts.get('Push_Parameters')?.[0] : undefined;
    return {
      version: '1.1',
      messageId: this.messageId,
      kind: 'subscription_management',
      collectionName: this.attr(root, 'collection_name'),
      action,
      subscriptionId,
      parameters: this.optional(paramsEl, (e) => this.subscriptionParameters(e)),
      push: this.optional(pushEl, (e) => this.push(e)),
    };
  }

  /** Required for UNSUBSCRIBE, PAUSE and RESUME, optional for STATUS, ignored for SUBSCRIBE. */
  private subscriptionIdFor(action: SubscriptionAction, el: XmlElement | undefined): string | undefined {
    const id = this.text(el) ?? '';
    if (['UNSUBSCRIBE', 'PAUSE', 'RESUME'].includes(action) && id === '') throw this.bad(`${action} needs a Subscription_ID`);
    return action === 'SUBSCRIBE' || id === '' ? undefined : id;
  }

  private optional<T>(el: XmlElement | undefined, read: (el: XmlElement) => T): T | undefined {
    return el === undefined ? undefined : read(el);
  }

  private subscriptionParameters(el: XmlElement): SubscriptionParameters {
    const parts = this.sequence(el, [
      ['Response_Type', 0, 1],
      ['Content_Binding', 0, Number.MAX_SAFE_INTEGER],
      ['Query', 0, 1],
    ]);
    return {
      responseType: this.responseType(parts.get('Response_Type')?.[0]),
      contentBindings: this.bindings(parts.get('Content_Binding')),
      queryFormat: this.queryFormat(parts.get('Query')?.[0]),
    };
  }

  private push(el: XmlElement): PushParameters {
    const tail: Particle[] = this.version === '1.0' ? [['Content_Binding', 0, Number.MAX_SAFE_INTEGER]] : [];
    const parts = this.sequence(el, [['Protocol_Binding', 1, 1], ['Address', 1, 1], ['Message_Binding', 1, 1], ...tail]);
    return {
      protocolBinding: this.requiredText(parts.get('Protocol_Binding')?.[0], 'Protocol_Binding'),
      address: this.requiredText(parts.get('Address')?.[0], 'Address'),
      messageBinding: this.requiredText(parts.get('Message_Binding')?.[0], 'Message_Binding'),
      contentBindings: this.bindings(parts.get('Content_Binding')),
    };
  }

  private subscription10(root: XmlElement): SubscriptionManagementRequest {
    const action = this.enumAttr<SubscriptionAction>(root, 'action', ['SUBSCRIBE', 'UNSUBSCRIBE', 'STATUS']);
    const parts = this.sequence(root, [EH, ['Push_Parameters', 0, 1], SIGNATURE]);
    const subscriptionId = root.attrs.get('subscription_id');
    if (action === 'UNSUBSCRIBE' && (subscriptionId === undefined || subscriptionId === '')) throw this.bad('UNSUBSCRIBE needs a subscription_id');
    const pushEl = parts.get('Push_Parameters')?.[0];
    return {
      version: '1.0',
      messageId: this.messageId,
      kind: 'subscription_management',
      collectionName: this.attr(root, 'feed_name'),
      action,
      subscriptionId: action === 'UNSUBSCRIBE' ? subscriptionId : undefined,
      parameters: undefined,
      push: pushEl === undefined || action !== 'SUBSCRIBE' ? undefined : this.push(pushEl),
    };
  }

  /** A poll's Exclusive_Begin_Timestamp and Inclusive_End_Timestamp, checked (Window.requested). */
  private window(parts: Map<string, XmlElement[]>): RequestedWindow {
    try {
      return Window.requested(this.label(parts.get('Exclusive_Begin_Timestamp')?.[0]), this.label(parts.get('Inclusive_End_Timestamp')?.[0]));
    } catch (e) {
      if (e instanceof InvalidWindow) throw this.bad(e.message);
      throw e;
    }
  }

  private poll11(root: XmlElement): PollRequest {
    const parts = this.sequence(root, [
      EH,
      ['Exclusive_Begin_Timestamp', 0, 1],
      ['Inclusive_End_Timestamp', 0, 1],
      ['Subscription_ID', 0, 1],
      ['Poll_Parameters', 0, 1],
      SIGNATURE,
    ]);
    const subEl = parts.get('Subscription_ID')?.[0];
    const paramsEl = parts.get('Poll_Parameters')?.[0];
    if ((subEl === undefined) === (paramsEl === undefined)) throw this.bad('A Poll_Request has exactly one of Subscription_ID and Poll_Parameters');
    const window = this.window(parts);
    return {
      version: '1.1',
      messageId: this.messageId,
      kind: 'poll',
      collectionName: this.attr(root, 'collection_name'),
      subscriptionId: subEl === undefined ? undefined : this.requiredText(subEl, 'Subscription_ID'),
      window,
      parameters: paramsEl === undefined ? undefined : this.pollParameters(paramsEl),
    };
  }

  private pollParameters(el: XmlElement): PollParameters {
    const parts = this.sequence(el, [
      ['Response_Type', 0, 1],
      ['Content_Binding', 0, Number.MAX_SAFE_INTEGER],
      ['Query', 0, 1],
      ['Delivery_Parameters', 0, 1],
    ]);
    const allowAsynch = this.bool(el, 'allow_asynch', false);
    if (!allowAsynch && parts.has('Delivery_Parameters')) throw this.bad('Delivery_Parameters are only allowed with allow_asynch="true"');
    return {
      allowAsynch,
      responseType: this.responseType(parts.get('Response_Type')?.[0]),
      contentBindings: this.bindings(parts.get('Content_Binding')),
      queryFormat: this.queryFormat(parts.get('Query')?.[0]),
    };
  }

  private poll10(root: XmlElement): PollRequest {
    const parts = this.sequence(root, [
      EH,
      ['Exclusive_Begin_Timestamp', 0, 1],
      ['Inclusive_End_Timestamp', 0, 1],
      ['Content_Binding', 0, Number.MAX_SAFE_INTEGER],
      SIGNATURE,
    ]);
    const window = this.window(parts);
    const sub = root.attrs.get('subscription_id');
    return {
      version: '1.0',
      messageId: this.messageId,
      kind: 'poll',
      collectionName: this.attr(root, 'feed_name'),
      subscriptionId: sub === undefined || sub === '' ? undefined : sub,
      window,
      parameters: { allowAsynch: false, responseType: 'FULL', contentBindings: this.bindings(parts.get('Content_Binding')) },
    };
  }

  private fulfillment(root: XmlElement): Taxii1Request {
    this.sequence(root, [EH, SIGNATURE]);
    const raw = root.attrs.get('result_part_number');
    // [X11] requires the part number, the 1.1 schema leaves it optional: a missing one means part 1 (digest D3).
    const partNumber = raw === undefined ? 1 : Number(raw.trim());
    if (!Number.isSafeInteger(partNumber) || partNumber < 1 || (raw !== undefined && !/^\s*\+?[0-9]+\s*$/.test(raw))) {
      throw this.bad('result_part_number must be a positive integer');
    }
    return {
      version: '1.1',
      messageId: this.messageId,
      kind: 'poll_fulfillment',
      collectionName: this.attr(root, 'collection_name'),
      resultId: this.attr(root, 'result_id'),
      partNumber,
    };
  }

  private inbox11(root: XmlElement): InboxMessage {
    const parts = this.sequence(root, [
      EH,
      ['Destination_Collection_Name', 0, Number.MAX_SAFE_INTEGER],
      ['Message', 0, 1],
      ['Source_Subscription', 0, 1],
      ['Record_Count', 0, 1],
      ['Content_Block', 0, Number.MAX_SAFE_INTEGER],
      SIGNATURE,
    ]);
    const blocks = (parts.get('Content_Block') ?? []).map((b) => this.block(b));
    const recordCount = this.recordCount(parts.get('Record_Count')?.[0]);
    if (recordCount !== undefined && recordCount.count < blocks.length) throw this.bad('Record_Count is smaller than the number of content blocks');
    const srcEl = parts.get('Source_Subscription')?.[0];
    return {
      version: '1.1',
      messageId: this.messageId,
      kind: 'inbox',
      destinations: (parts.get('Destination_Collection_Name') ?? []).map((d) => this.requiredText(d, 'Destination_Collection_Name')),
      resultId: root.attrs.get('result_id'),
      message: this.text(parts.get('Message')?.[0]),
      source: srcEl === undefined ? undefined : this.sourceSubscription(srcEl),
      recordCount,
      blocks,
    };
  }

  private inbox10(root: XmlElement): InboxMessage {
    const parts = this.sequence(root, [EH, ['Message', 0, 1], ['Source_Subscription', 0, 1], ['Content_Block', 0, Number.MAX_SAFE_INTEGER], SIGNATURE]);
    const srcEl = parts.get('Source_Subscription')?.[0];
    return {
      version: '1.0',
      messageId: this.messageId,
      kind: 'inbox',
      destinations: [],
      message: this.text(parts.get('Message')?.[0]),
      source: srcEl === undefined ? undefined : this.sourceSubscription(srcEl),
      blocks: (parts.get('Content_Block') ?? []).map((b) => this.block(b)),
    };
  }

  private sourceSubscription(el: XmlElement): SourceSubscription {
    if (this.version === '1.0') {
      const parts = this.sequence(el, [
        ['Inclusive_Begin_Timestamp', 0, 1],
        ['Inclusive_End_Timestamp', 1, 1],
      ]);
      const firstUs = this.label(parts.get('Inclusive_Begin_Timestamp')?.[0]);
      return {
        collectionName: this.attr(el, 'feed_name'),
        subscriptionId: this.attr(el, 'subscription_id'),
        afterUs: firstUs === undefined ? undefined : Window.before(firstUs),
        throughUs: this.label(parts.get('Inclusive_End_Timestamp')?.[0]),
      };
    }
    const parts = this.sequence(el, [
      ['Subscription_ID', 1, 1],
      ['Exclusive_Begin_Timestamp', 0, 1],
      ['Inclusive_End_Timestamp', 0, 1],
    ]);
    return {
      collectionName: this.attr(el, 'collection_name'),
      subscriptionId: this.requiredText(parts.get('Subscription_ID')?.[0], 'Subscription_ID'),
      afterUs: this.label(parts.get('Exclusive_Begin_Timestamp')?.[0]),
      throughUs: this.label(parts.get('Inclusive_End_Timestamp')?.[0]),
    };
  }

  private recordCount(el: XmlElement | undefined): { count: number; partial: boolean } | undefined {
    if (el === undefined) return undefined;
    const t = this.text(el) ?? '';
    if (!/^\+?[0-9]+$/.test(t)) throw this.bad('Record_Count is not a non-negative integer');
    return { count: Number(t), partial: this.bool(el, 'partial_count', false) };
  }

  private block(el: XmlElement): ContentBlock {
    const tail: Particle[] = this.version === '1.1' ? [['Message', 0, 1]] : [];
    const parts = this.sequence(el, [
      ['Content_Binding', 1, 1],
      ['Content', 1, 1],
      ['Timestamp_Label', 0, 1],
      ...tail,
      ['Padding', 0, 1],
      [SIG, 0, Number.MAX_SAFE_INTEGER],
    ]);
    const bindingEl = parts.get('Content_Binding')![0]!;
    const binding = this.bindings([bindingEl])[0]!;
    if (binding.subtypes.length > 1) throw this.bad('A content block names at most one subtype');
    const content = parts.get('Content')![0]!;
    const text = this.source.slice(content.innerStart, content.innerEnd);
    return {
      binding: binding.id,
      subtype: binding.subtypes[0],
      content: text,
      contentNs: this.usedScope(scopeOf(content), text),
      timestampLabelUs: this.label(parts.get('Timestamp_Label')?.[0]),
      message: this.text(parts.get('Message')?.[0]),
    };
  }

  /**
   * The declarations in scope at a content block that its text can use: those whose prefix it names
   * (`p:` in an element or attribute name or in a QName value such as xsi:type="p:T"), and the
   * default namespace if it has an unprefixed element. What is kept is stored and served with every
   * block, so the rest of the envelope's declarations are not copied into each one, and what is kept
   * may not exceed the block's own size by more than NS_ALLOWANCE.
   */
  private usedScope(scope: Record<string, string>, text: string): Record<string, string> {
    const used: Record<string, string> = {};
    let bytes = 0;
    for (const [prefix, uri] of Object.entries(scope)) {
      const named = prefix === '' ? UNPREFIXED_ELEMENT.test(text) : text.includes(`${prefix}:`);
      if (!named) continue;
      used[prefix] = uri;
      bytes += prefix.length + uri.length + 10;
    }
    if (bytes > text.length + NS_ALLOWANCE) {
      throw this.bad(`The namespace declarations a content block uses (${bytes} bytes) exceed its own size by more than ${NS_ALLOWANCE} bytes`);
    }
    return used;
  }
}
