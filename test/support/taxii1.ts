import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { parseXml, type XmlElement } from '@taxiway/taxii1';

/** Raw TAXII 1.x over HTTP for tests: real POSTs, answers read with the server's own safe reader. */

export const NS11 = 'http://taxii.mitre.org/messages/taxii_xml_binding-1.1';
export const NS10 = 'http://taxii.mitre.org/messages/taxii_xml_binding-1';
export const STIX12 = 'urn:stix.mitre.org:xml:1.2';
export const STIX21 = 'urn:oasis:names:tc:stix:json:2.1';
export const LABEL_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

export type V = '1.0' | '1.1';

export function headersFor(v: V): Record<string, string> {
  return {
    'content-type': 'application/xml',
    accept: 'application/xml',
    'x-taxii-content-type': `urn:taxii.mitre.org:message:xml:${v}`,
    'x-taxii-accept': `urn:taxii.mitre.org:message:xml:${v}`,
    'x-taxii-services': `urn:taxii.mitre.org:services:${v}`,
    'x-taxii-protocol': 'urn:taxii.mitre.org:protocol:http:1.0',
  };
}

export interface T1Res {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly root: XmlElement | undefined;
}

/** Every TAXII message body received, for validation against the official schemas at the end of a file. */
export const received: string[] = [];

export async function post(
  base: string,
  path: string,
  body: string,
  opts: { v?: V; auth?: string | undefined; headers?: Record<string, string | undefined> } = {},
): Promise<T1Res> {
  const headers: Record<string, string> = { ...headersFor(opts.v ?? '1.1') };
  if (opts.auth !== undefined) headers['authorization'] = opts.auth;
  for (const [k, v] of Object.entries(opts.headers ?? {})) {
    if (v === undefined) delete headers[k];
    else headers[k] = v;
  }
  const r = await fetch(base + path, { method: 'POST', headers, body });
  const text = await r.text();
  let root: XmlElement | undefined;
  if (r.headers.get('x-taxii-content-type') !== null && text !== '') {
    root = parseXml(text);
    received.push(text);
  }
  return { status: r.status, headers: r.headers, text, root };
}

export function child(el: XmlElement | undefined, local: string): XmlElement | undefined {
  return el?.children.find((c) => c.local === local);
}

export function children(el: XmlElement | undefined, local: string): XmlElement[] {
  return el?.children.filter((c) => c.local === local) ?? [];
}

export interface Status {
  readonly type: string | undefined;
  readonly inResponseTo: string | undefined;
  readonly message: string | undefined;
  /** 1.1 Detail name → values (1.0: the Status_Detail text under ''). */
  readonly details: Record<string, string[]>;
}

export function status(res: T1Res): Status {
  const root = res.root;
  if (root?.local !== 'Status_Message') throw new Error(`expected a Status_Message, got ${root?.local ?? res.text.slice(0, 200)}`);
  const details: Record<string, string[]> = {};
  const sd = child(root, 'Status_Detail');
  if (sd !== undefined && sd.children.length === 0) details[''] = [sd.text];
  for (const d of children(sd, 'Detail')) (details[d.attrs.get('name') ?? ''] ??= []).push(d.text);
  return { type: root.attrs.get('status_type'), inResponseTo: root.attrs.get('in_response_to'), message: child(root, 'Message')?.text, details };
}

export interface Block {
  readonly binding: string | undefined;
  readonly subtype: string | undefined;
  /** The `<Content>` element's content exactly as the response carries it. */
  readonly raw: string;
  readonly label: string | undefined;
}

/** The content blocks of a Poll_Response or Inbox_Message, with their content sliced from the raw text. */
export function blocks(res: { text: string; root: XmlElement | undefined }): Block[] {
  return children(res.root, 'Content_Block').map((b) => {
    const binding = child(b, 'Content_Binding');
    const content = child(b, 'Content')!;
    return {
      binding: binding?.attrs.get('binding_id') ?? binding?.text,
      subtype: child(binding, 'Subtype')?.attrs.get('subtype_id'),
      raw: res.text.slice(content.innerStart, content.innerEnd),
      label: child(b, 'Timestamp_Label')?.text,
    };
  });
}

// --- message builders (the shapes cabby and libtaxii send) ---

let seq = 0;
export function mid(v: V = '1.1'): string {
  seq++;
  return v === '1.1' ? `msg-${seq}-${Date.now()}` : String(1_000_000 + seq);
}

const decl = (v: V): string => (v === '1.1' ? `xmlns:taxii_11="${NS11}"` : `xmlns:taxii="${NS10}"`);
const p = (v: V): string => (v === '1.1' ? 'taxii_11' : 'taxii');

export function discovery(v: V = '1.1', id = mid(v)): string {
  return `<${p(v)}:Discovery_Request ${decl(v)} message_id="${id}"/>`;
}

export function collectionInfo(v: V = '1.1', id = mid(v)): string {
  return v === '1.1'
    ? `<taxii_11:Collection_Information_Request ${decl(v)} message_id="${id}"/>`
    : `<taxii:Feed_Information_Request ${decl(v)} message_id="${id}"/>`;
}

export interface InboxBlock {
  readonly content: string;
  readonly binding?: string;
  readonly subtype?: string;
  readonly label?: string;
}

export function inbox(blocksIn: readonly InboxBlock[], opts: { v?: V; dest?: readonly string[]; id?: string; extra?: string } = {}): string {
  const v = opts.v ?? '1.1';
  const x = p(v);
  const dests = v === '1.1' ? (opts.dest ?? []).map((d) => `<taxii_11:Destination_Collection_Name>${d}</taxii_11:Destination_Collection_Name>`).join('') : '';
  const bs = blocksIn
    .map((b) => {
      const binding =
        v === '1.1'
          ? b.subtype === undefined
            ? `<taxii_11:Content_Binding binding_id="${b.binding ?? STIX12}"/>`
            : `<taxii_11:Content_Binding binding_id="${b.binding ?? STIX12}"><taxii_11:Subtype subtype_id="${b.subtype}"/></taxii_11:Content_Binding>`
          : `<taxii:Content_Binding>${b.binding ?? STIX12}</taxii:Content_Binding>`;
      const label = b.label === undefined ? '' : `<${x}:Timestamp_Label>${b.label}</${x}:Timestamp_Label>`;
      return `<${x}:Content_Block>${binding}<${x}:Content>${b.content}</${x}:Content>${label}</${x}:Content_Block>`;
    })
    .join('\n');
  return `<${x}:Inbox_Message ${decl(v)} message_id="${opts.id ?? mid(v)}">${opts.extra ?? ''}${dests}\n${bs}</${x}:Inbox_Message>`;
}

export interface PollOpts {
  readonly v?: V;
  readonly begin?: string;
  readonly end?: string;
  readonly subscriptionId?: string;
  readonly bindings?: readonly string[];
  readonly countOnly?: boolean;
  readonly id?: string;
}

export function poll(collection: string, o: PollOpts = {}): string {
  const v = o.v ?? '1.1';
  const x = p(v);
  const begin = o.begin === undefined ? '' : `<${x}:Exclusive_Begin_Timestamp>${o.begin}</${x}:Exclusive_Begin_Timestamp>`;
  const end = o.end === undefined ? '' : `<${x}:Inclusive_End_Timestamp>${o.end}</${x}:Inclusive_End_Timestamp>`;
  if (v === '1.0') {
    const cbs = (o.bindings ?? []).map((b) => `<taxii:Content_Binding>${b}</taxii:Content_Binding>`).join('');
    const sub = o.subscriptionId === undefined ? '' : ` subscription_id="${o.subscriptionId}"`;
    return `<taxii:Poll_Request ${decl(v)} message_id="${o.id ?? mid(v)}" feed_name="${collection}"${sub}>${begin}${end}${cbs}</taxii:Poll_Request>`;
  }
  const selector =
    o.subscriptionId !== undefined
      ? `<taxii_11:Subscription_ID>${o.subscriptionId}</taxii_11:Subscription_ID>`
      : `<taxii_11:Poll_Parameters allow_asynch="false"><taxii_11:Response_Type>${o.countOnly === true ? 'COUNT_ONLY' : 'FULL'}</taxii_11:Response_Type>${(
          o.bindings ?? []
        )
          .map((b) => `<taxii_11:Content_Binding binding_id="${b}"/>`)
          .join('')}</taxii_11:Poll_Parameters>`;
  return `<taxii_11:Poll_Request ${decl(v)} message_id="${o.id ?? mid(v)}" collection_name="${collection}">${begin}${end}${selector}</taxii_11:Poll_Request>`;
}

export function fulfillment(collection: string, resultId: string, part: number, id = mid()): string {
  return `<taxii_11:Poll_Fulfillment ${decl('1.1')} message_id="${id}" collection_name="${collection}" result_id="${resultId}" result_part_number="${part}"/>`;
}

export interface SubscribeOpts {
  readonly v?: V;
  readonly action: 'SUBSCRIBE' | 'UNSUBSCRIBE' | 'PAUSE' | 'RESUME' | 'STATUS';
  readonly id?: string;
  readonly push?: { readonly address: string; readonly protocol?: string; readonly binding?: string };
  readonly bindings?: readonly string[];
  readonly responseType?: 'FULL' | 'COUNT_ONLY';
  readonly noParameters?: boolean;
  readonly query?: boolean;
}

export function subscription(collection: string, o: SubscribeOpts): string {
  const v = o.v ?? '1.1';
  const push = (cbs: string): string =>
    o.push === undefined
      ? ''
      : `<${p(v)}:Push_Parameters><${p(v)}:Protocol_Binding>${o.push.protocol ?? 'urn:taxii.mitre.org:protocol:http:1.0'}</${p(v)}:Protocol_Binding><${p(v)}:Address>${o.push.address}</${p(v)}:Address><${p(v)}:Message_Binding>${o.push.binding ?? `urn:taxii.mitre.org:message:xml:${v}`}</${p(v)}:Message_Binding>${cbs}</${p(v)}:Push_Parameters>`;
  if (v === '1.0') {
    const sub = o.id === undefined ? '' : ` subscription_id="${o.id}"`;
    const cbs = (o.bindings ?? []).map((b) => `<taxii:Content_Binding>${b}</taxii:Content_Binding>`).join('');
    return `<taxii:Subscription_Management_Request ${decl(v)} message_id="${mid(v)}" action="${o.action}" feed_name="${collection}"${sub}>${push(cbs)}</taxii:Subscription_Management_Request>`;
  }
  const id = o.id === undefined ? '' : `<taxii_11:Subscription_ID>${o.id}</taxii_11:Subscription_ID>`;
  const query = o.query === true ? `<taxii_11:Query format_id="urn:taxii.mitre.org:query:default:1.0"/>` : '';
  const params =
    o.action === 'SUBSCRIBE' && o.noParameters !== true
      ? `<taxii_11:Subscription_Parameters><taxii_11:Response_Type>${o.responseType ?? 'FULL'}</taxii_11:Response_Type>${(o.bindings ?? [])
          .map((b) => `<taxii_11:Content_Binding binding_id="${b}"/>`)
          .join('')}${query}</taxii_11:Subscription_Parameters>`
      : '';
  return `<taxii_11:Subscription_Management_Request ${decl(v)} message_id="${mid(v)}" action="${o.action}" collection_name="${collection}">${id}${params}${push('')}</taxii_11:Subscription_Management_Request>`;
}

// --- official schemas ---

const run = promisify(execFile);
export const PYTHON = resolve(__dirname, '../../.venv-interop/bin/python');

/** Validates documents against the TAXII 1.x XSDs with lxml (the interop virtualenv); returns the invalid ones with their errors. */
export async function schemaErrors(docs: readonly string[]): Promise<{ doc: string; errors: string[] }[]> {
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} missing: run scripts/test-all.sh, which creates the interop virtualenv`);
  const child = run(PYTHON, [resolve(__dirname, '../interop/taxii1_xsd.py')], { maxBuffer: 64 * 1024 * 1024 });
  child.child.stdin?.end(JSON.stringify(docs));
  const { stdout } = await child;
  const results = JSON.parse(stdout) as (string[] | null)[];
  return results.flatMap((r, i) => (r === null ? [] : [{ doc: (docs[i] ?? '').slice(0, 600), errors: r }]));
}
