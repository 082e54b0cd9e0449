import { SaxesParser, type SaxesTagNS } from 'saxes';

/**
 * A small, safe XML reader for TAXII 1.x messages. It is non-validating and namespace-aware, and it
 * refuses what makes XML dangerous to parse: any document type declaration (so no entity
 * declarations, no external DTD or entity references, no entity expansion), encodings other than
 * UTF-8, and documents over the configured depth or element count. Offsets of every element's
 * content in the source text are kept, so a `<Content>` element can be stored byte for byte.
 */

export interface XmlLimits {
  /** Deepest element nesting accepted (the root is depth 1). */
  readonly maxDepth: number;
  /** Most elements accepted in one document. */
  readonly maxElements: number;
}

export const DEFAULT_XML_LIMITS: XmlLimits = { maxDepth: 100, maxElements: 250_000 };

/**
 * Elements whose content is kept only as source offsets: their descendants are checked (well-formed,
 * within the limits) and counted but not built into the tree. For TAXII, `<Content>`, whose payload
 * is stored as text.
 */
export type OpaqueTest = (ns: string, local: string) => boolean;

export interface XmlElement {
  readonly ns: string;
  readonly local: string;
  /** Unqualified attributes by name (TAXII's attributes are all unqualified). */
  readonly attrs: ReadonlyMap<string, string>;
  readonly children: XmlElement[];
  /** Character data directly inside this element (children's text excluded). */
  text: string;
  /** Offsets of the element's content (between its start and end tags) in the source text. */
  readonly innerStart: number;
  innerEnd: number;
  /** The namespace declarations made on this element itself, prefix ('' = default) to URI. */
  readonly declared: Readonly<Record<string, string>>;
  readonly parent: XmlElement | undefined;
}

/** Namespace declarations in scope at an element (its own and its ancestors'), prefix ('' = default) to URI. */
export function scopeOf(el: XmlElement): Record<string, string> {
  const chain: XmlElement[] = [];
  for (let e: XmlElement | undefined = el; e !== undefined; e = e.parent) chain.push(e);
  const scope: Record<string, string> = {};
  for (let i = chain.length - 1; i >= 0; i--) Object.assign(scope, chain[i]!.declared);
  return scope;
}

/**
 * Most namespace declarations accepted on one element built into the tree (the TAXII envelope,
 * `<Content>` included): each `<Content>` copies those of itself and its ancestors, so the cost
 * stays linear in the message size.
 */
export const MAX_ELEMENT_NAMESPACES = 200;

/** A document the reader refuses: not well-formed, or outside the limits. */
export class XmlRejected extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XmlRejected';
  }
}

const XML_DECL_ENCODING = /^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']/;
const UTF8_NAMES = new Set(['utf-8', 'utf8', 'us-ascii', 'ascii']);

/** Decodes a UTF-8 body strictly (a BOM is dropped) and checks the declared encoding. */
export function decodeXml(body: Buffer): string {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(body);
  } catch {
    throw new XmlRejected('The message is not valid UTF-8');
  }
  const declared = XML_DECL_ENCODING.exec(text)?.[1];
  if (declared !== undefined && !UTF8_NAMES.has(declared.toLowerCase())) {
    throw new XmlRejected(`The encoding ${declared} is not supported; send UTF-8`);
  }
  return text;
}

interface Frame {
  readonly el: XmlElement;
}

/** Parses one XML document into an element tree, enforcing the limits while it reads. */
export function parseXml(text: string, limits: XmlLimits = DEFAULT_XML_LIMITS, opaque?: OpaqueTest): XmlElement {
  const parser = new SaxesParser({ xmlns: true, position: true });
  const stack: Frame[] = [];
  let root: XmlElement | undefined;
  let count = 0;
  let failure: Error | undefined;
  /** Depth inside an opaque element (0 = building the tree). */
  let hidden = 0;

  parser.on('error', (e) => {
    failure ??= e;
  });
  parser.on('doctype', () => {
    throw new XmlRejected('Document type declarations are not accepted');
  });
  parser.on('opentag', (tag: SaxesTagNS) => {
    count++;
    if (count > limits.maxElements) throw new XmlRejected(`The message has more than ${limits.maxElements} elements`);
    if (stack.length + hidden + 1 > limits.maxDepth) throw new XmlRejected(`The message nests elements deeper than ${limits.maxDepth}`);
    if (hidden > 0) {
      hidden++;
      return;
    }
    if (Object.keys(tag.ns).length > MAX_ELEMENT_NAMESPACES) throw new XmlRejected(`${tag.local} declares more than ${MAX_ELEMENT_NAMESPACES} namespaces`);
    const el = elementOf(tag, parser.position, stack[stack.length - 1]?.el);
    const parent = stack[stack.length - 1];
    if (parent) parent.el.children.push(el);
    else root = el;
    stack.push({ el });
    if (opaque?.(el.ns, el.local) === true) hidden = 1;
  });
  parser.on('closetag', (tag: SaxesTagNS) => {
    if (hidden > 1) {
      hidden--;
      return;
    }
    hidden = 0;
    const frame = stack.pop();
    if (frame === undefined) return;
    frame.el.innerEnd = tag.isSelfClosing ? frame.el.innerStart : text.lastIndexOf('</', parser.position - 1);
  });
  const onText = (t: string): void => {
    if (hidden > 1) return;
    const top = stack[stack.length - 1];
    if (top) top.el.text += t;
  };
  parser.on('text', onText);
  parser.on('cdata', onText);

  try {
    parser.write(text).close();
  } catch (e) {
    throw e instanceof XmlRejected ? e : new XmlRejected(`The message is not well-formed XML: ${firstLine(e)}`);
  }
  if (failure !== undefined) throw new XmlRejected(`The message is not well-formed XML: ${firstLine(failure)}`);
  if (root === undefined) throw new XmlRejected('The message has no root element');
  return root;
}

function elementOf(tag: SaxesTagNS, position: number, parent: XmlElement | undefined): XmlElement {
  const attrs = new Map<string, string>();
  for (const a of Object.values(tag.attributes)) {
    if (a.prefix === '' && a.local !== 'xmlns') attrs.set(a.local, a.value);
  }
  return { ns: tag.uri, local: tag.local, attrs, children: [], text: '', innerStart: position, innerEnd: position, declared: tag.ns, parent };
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return (msg.split('\n')[0] ?? msg).slice(0, 200);
}

/** Escapes text for element content. */
export function escapeText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Escapes text for a double-quoted attribute value. */
export function escapeAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;').replace(/\r/g, '&#13;').replace(/\n/g, '&#10;').replace(/\t/g, '&#9;');
}
