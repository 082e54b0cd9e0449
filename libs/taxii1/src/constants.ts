/** TAXII 1.x identifiers (digest §2): namespaces, binding and services version ids, status types. */

export type Taxii1Version = '1.0' | '1.1';

export const NS = {
  '1.0': 'http://taxii.mitre.org/messages/taxii_xml_binding-1',
  '1.1': 'http://taxii.mitre.org/messages/taxii_xml_binding-1.1',
} as const;

/** The prefix each version's messages are written with (libtaxii's). */
export const PREFIX: Record<Taxii1Version, string> = { '1.0': 'taxii', '1.1': 'taxii_11' };

export const MESSAGE_BINDING: Record<Taxii1Version, string> = {
  '1.0': 'urn:taxii.mitre.org:message:xml:1.0',
  '1.1': 'urn:taxii.mitre.org:message:xml:1.1',
};

export const SERVICES: Record<Taxii1Version, string> = {
  '1.0': 'urn:taxii.mitre.org:services:1.0',
  '1.1': 'urn:taxii.mitre.org:services:1.1',
};

export const PROTOCOL_HTTP = 'urn:taxii.mitre.org:protocol:http:1.0';
export const PROTOCOL_HTTPS = 'urn:taxii.mitre.org:protocol:https:1.0';
export const PROTOCOLS: readonly string[] = [PROTOCOL_HTTP, PROTOCOL_HTTPS];

/** The version a message binding id names, if it is one of ours. */
export function versionOfBinding(binding: string | undefined): Taxii1Version | undefined {
  if (binding === MESSAGE_BINDING['1.1']) return '1.1';
  if (binding === MESSAGE_BINDING['1.0']) return '1.0';
  return undefined;
}

export function versionOfServices(services: string | undefined): Taxii1Version | undefined {
  if (services === SERVICES['1.1']) return '1.1';
  if (services === SERVICES['1.0']) return '1.0';
  return undefined;
}

/** STIX 1.x content binding ids ([CB] plus libtaxii's 1.2). */
export const STIX1_BINDINGS: readonly string[] = [
  'urn:stix.mitre.org:xml:1.0',
  'urn:stix.mitre.org:xml:1.0.1',
  'urn:stix.mitre.org:xml:1.1',
  'urn:stix.mitre.org:xml:1.1.1',
  'urn:stix.mitre.org:xml:1.2',
];

/**
 * The binding under which a collection's STIX 2.1 objects are offered to TAXII 1.x clients (one
 * JSON object per content block). No TAXII 1.x registry names STIX 2.1; this follows the OASIS URN
 * pattern of the STIX 2.1 namespace.
 */
export const STIX21_JSON_BINDING = 'urn:oasis:names:tc:stix:json:2.1';

export type StatusType =
  | 'SUCCESS'
  | 'BAD_MESSAGE'
  | 'DENIED'
  | 'FAILURE'
  | 'NOT_FOUND'
  | 'POLLING_UNSUPPORTED'
  | 'RETRY'
  | 'UNAUTHORIZED'
  | 'UNSUPPORTED_MESSAGE'
  | 'UNSUPPORTED_CONTENT'
  | 'UNSUPPORTED_PROTOCOL'
  | 'ASYNCHRONOUS_POLL_ERROR'
  | 'DESTINATION_COLLECTION_ERROR'
  | 'INVALID_RESPONSE_PART'
  | 'NETWORK_ERROR'
  | 'PENDING'
  | 'UNSUPPORTED_QUERY';

/** Status types TAXII 1.0 defines; the others are answered as FAILURE to a 1.0 client. */
export const STATUS_TYPES_10: ReadonlySet<StatusType> = new Set<StatusType>([
  'SUCCESS',
  'BAD_MESSAGE',
  'DENIED',
  'FAILURE',
  'NOT_FOUND',
  'POLLING_UNSUPPORTED',
  'RETRY',
  'UNAUTHORIZED',
  'UNSUPPORTED_MESSAGE',
  'UNSUPPORTED_CONTENT',
  'UNSUPPORTED_PROTOCOL',
]);

export type ServiceType = 'DISCOVERY' | 'COLLECTION_MANAGEMENT' | 'INBOX' | 'POLL';
