import type { FastifyRequest } from 'fastify';
import { MESSAGE_BINDING, PROTOCOL_HTTP, PROTOCOLS, versionOfBinding, versionOfServices, type Taxii1Version } from '@taxiway/taxii1';
import type { Taxii1MessageCode } from './taxii1-error.map';
import { Taxii1Status } from './taxii1-status';

/* The HTTP binding's headers (digest §4.2): which version a request is in and which the answer may be in. */

/** What the headers of a request say: the version to read it in and to answer in. */
export interface Negotiated {
  /** The version of the request message. */
  readonly version: Taxii1Version;
  /** The versions the answer may be in, most preferred first: those of X-TAXII-Accept we write, else the request's. */
  readonly accepted: readonly Taxii1Version[];
  readonly https: boolean;
}

/** A failure before the message could be read: answered in `version`, under the status's HTTP status. */
export class EarlyAnswer extends Error {
  constructor(
    readonly version: Taxii1Version,
    readonly status: Taxii1Status,
  ) {
    super(status.message);
  }
}

/** A request header's (first) value. */
export function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function transportIsHttps(req: FastifyRequest): boolean {
  if ((req.raw.socket as { encrypted?: boolean }).encrypted === true) return true;
  return header(req, 'x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase() === 'https';
}

/** The version a request is in, from its headers or, failing them, its body's namespace (1.1 if neither says). */
export function sniffVersion(headers: FastifyRequest['headers'], body: unknown): Taxii1Version {
  const ct = headers['x-taxii-content-type'];
  const sv = headers['x-taxii-services'];
  const byHeader = versionOfBinding(typeof ct === 'string' ? ct.trim() : undefined) ?? versionOfServices(typeof sv === 'string' ? sv.trim() : undefined);
  if (byHeader !== undefined) return byHeader;
  if (Buffer.isBuffer(body)) {
    const head = body.subarray(0, 4096).toString('latin1');
    if (head.includes('taxii_xml_binding-1.1')) return '1.1';
    if (head.includes('taxii_xml_binding-1"') || head.includes("taxii_xml_binding-1'")) return '1.0';
  }
  return '1.1';
}

const SUPPORTED_BINDINGS: readonly (readonly [string, string])[] = [
  ['SUPPORTED_BINDING', MESSAGE_BINDING['1.1']],
  ['SUPPORTED_BINDING', MESSAGE_BINDING['1.0']],
];

/**
 * Checks the HTTP binding's headers (digest §4.2): X-TAXII-Content-Type and X-TAXII-Services name
 * one version, X-TAXII-Accept (if sent) admits it, X-TAXII-Protocol (if sent) is a known binding,
 * Content-Type is XML and Accept admits XML.
 */
export function negotiate(req: FastifyRequest): Negotiated {
  const version = messageVersion(req);
  const refuse = (code: Taxii1MessageCode, message: string, details: readonly (readonly [string, string])[] = SUPPORTED_BINDINGS): EarlyAnswer =>
    new EarlyAnswer(version, new Taxii1Status(code, message, details));
  const accepted = acceptedVersions(header(req, 'x-taxii-accept'), version);
  if (accepted.length === 0) throw refuse('UNSUPPORTED_MESSAGE', 'X-TAXII-Accept names no message binding this server writes');
  const protocol = header(req, 'x-taxii-protocol')?.trim() ?? PROTOCOL_HTTP;
  if (!PROTOCOLS.includes(protocol)) {
    throw refuse(
      'UNSUPPORTED_PROTOCOL',
      `Protocol binding ${protocol} is not supported`,
      PROTOCOLS.map((p) => ['SUPPORTED_PROTOCOL', p] as const),
    );
  }
  checkMedia(req, refuse);
  return { version, accepted, https: transportIsHttps(req) };
}

/** Content-Type must be XML; Accept must admit it (NOT_ACCEPTABLE otherwise). */
function checkMedia(
  req: FastifyRequest,
  refuse: (code: Taxii1MessageCode, message: string, details?: readonly (readonly [string, string])[]) => EarlyAnswer,
): void {
  const contentType = header(req, 'content-type')?.split(';')[0]?.trim().toLowerCase() ?? 'application/xml';
  if (contentType !== 'application/xml' && contentType !== 'text/xml') {
    throw refuse('UNSUPPORTED_MESSAGE', `Content-Type ${contentType} is not the XML message binding's application/xml`);
  }
  if (!acceptsXml(header(req, 'accept'))) throw refuse('NOT_ACCEPTABLE', 'Accept does not admit application/xml, the only media type of the answer', []);
}

/** The version X-TAXII-Content-Type and X-TAXII-Services agree on; UNSUPPORTED_MESSAGE otherwise. */
function messageVersion(req: FastifyRequest): Taxii1Version {
  // The version to refuse in is guessed (from the body) only when refusing.
  const unsupported = (message: string): EarlyAnswer =>
    new EarlyAnswer(sniffVersion(req.headers, req.body), new Taxii1Status('UNSUPPORTED_MESSAGE', message, SUPPORTED_BINDINGS));
  const ct = header(req, 'x-taxii-content-type')?.trim();
  const version = versionOfBinding(ct);
  if (version === undefined) throw unsupported(ct === undefined ? 'X-TAXII-Content-Type is missing' : `Message binding ${ct} is not supported`);
  const services = versionOfServices(header(req, 'x-taxii-services')?.trim());
  if (services === undefined) throw unsupported('X-TAXII-Services is missing or names no TAXII 1.x services version');
  if (services !== version) throw unsupported('X-TAXII-Content-Type and X-TAXII-Services name different TAXII versions');
  return version;
}

/**
 * X-TAXII-Accept: space-separated message bindings, most preferred first; absent = any, so the
 * request's own. The answer is in the first one we write (digest §4.2).
 */
function acceptedVersions(accept: string | undefined, version: Taxii1Version): Taxii1Version[] {
  if (accept === undefined || accept.trim() === '') return [version];
  const out: Taxii1Version[] = [];
  for (const binding of accept.split(/[\s,]+/)) {
    const v = versionOfBinding(binding);
    if (v !== undefined && !out.includes(v)) out.push(v);
  }
  return out;
}

/** The first accepted version whose in_response_to can carry the request's id (1.0 ids are digits). */
export function answerVersion(accepted: readonly Taxii1Version[], messageId: string | undefined): Taxii1Version {
  const digits = messageId !== undefined && /^[0-9]+$/.test(messageId);
  return accepted.find((v) => v === '1.1' || digits || messageId === undefined) ?? accepted[0] ?? '1.1';
}

function acceptsXml(accept: string | undefined): boolean {
  if (accept === undefined || accept.trim() === '') return true;
  return accept.split(',').some((range) => {
    const [type, ...params] = range.split(';').map((p) => p.trim().toLowerCase());
    if (params.some((p) => /^q=0(\.0*)?$/.test(p))) return false;
    return type === '*/*' || type === 'application/*' || type === 'application/xml' || type === 'text/xml';
  });
}

/** The message_id attribute in the first 4 KiB of a body, without parsing it (for refusals before reading). */
export function peekMessageId(body: unknown): string | undefined {
  if (!Buffer.isBuffer(body)) return undefined;
  const m = /<[A-Za-z_][\w.-]*:?[\w.-]*\s[^>]*?\bmessage_id\s*=\s*(?:"([^"<&]{1,200})"|'([^'<&]{1,200})')/.exec(body.subarray(0, 4096).toString('utf8'));
  return (m?.[1] ?? m?.[2])?.trim();
}

/** The request's message id as the answer can carry it: a TAXII 1.0 answer takes digits only (else `0`). */
export function inResponseTo(messageId: string | undefined, answer: Taxii1Version): string {
  if (messageId === undefined) return '0';
  return answer === '1.0' && !/^[0-9]+$/.test(messageId) ? '0' : messageId;
}
