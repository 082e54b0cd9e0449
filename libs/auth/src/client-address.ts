import { BlockList, isIP } from 'node:net';

/** An address without IPv6 zone, brackets, port or the IPv4-mapped prefix; undefined if it is none. */
export function normalizeAddress(raw: string): string | undefined {
  let a = raw.trim();
  if (a.startsWith('"') && a.endsWith('"') && a.length >= 2) a = a.slice(1, -1);
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(a);
  if (bracketed !== null) a = bracketed[1] ?? '';
  else if (/^[0-9.]+:\d+$/.test(a)) a = a.slice(0, a.lastIndexOf(':'));
  a = a.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  if (mapped !== null) a = mapped[1] ?? '';
  return isIP(a) === 0 ? undefined : a.toLowerCase();
}

/** `10.0.0.0/8`, `::1`, `fd00::/8` → address, family and prefix length; undefined if malformed. */
function parseCidr(entry: string): { address: string; type: 'ipv4' | 'ipv6'; bits: number | undefined } | undefined {
  const [addr = '', prefix, extra] = entry.trim().split('/');
  const address = normalizeAddress(addr);
  if (address === undefined || extra !== undefined) return undefined;
  const type = isIP(address) === 4 ? 'ipv4' : 'ipv6';
  if (prefix === undefined) return { address, type, bits: undefined };
  const bits = Number(prefix);
  const valid = /^\d+$/.test(prefix) && bits <= (type === 'ipv4' ? 32 : 128);
  return valid ? { address, type, bits } : undefined;
}

/**
 * The proxies whose forwarding headers are believed (TRUSTED_PROXIES: addresses and CIDRs, v4 or v6).
 * Empty by default: then the client address is always the socket's peer.
 */
export class TrustedProxies {
  private readonly list = new BlockList();
  readonly empty: boolean;

  constructor(cidrs: readonly string[]) {
    for (const entry of cidrs) this.add(entry);
    this.empty = cidrs.length === 0;
  }

  /** Parses one entry; throws with the entry named when it is no address or CIDR. */
  private add(entry: string): void {
    const parsed = parseCidr(entry);
    if (parsed === undefined) throw new Error(`not an IP address or CIDR: ${JSON.stringify(entry)}`);
    if (parsed.bits === undefined) this.list.addAddress(parsed.address, parsed.type);
    else this.list.addSubnet(parsed.address, parsed.bits, parsed.type);
  }

  contains(address: string): boolean {
    if (this.empty) return false;
    const a = normalizeAddress(address);
    if (a === undefined) return false;
    return this.list.check(a, isIP(a) === 4 ? 'ipv4' : 'ipv6');
  }
}

/** The `for=` nodes of an RFC 7239 `Forwarded` header, in order (first = farthest from us). */
function forwardedFor(header: string): string[] {
  const out: string[] = [];
  for (const element of header.split(',')) {
    for (const pair of element.split(';')) {
      const eq = pair.indexOf('=');
      if (eq > 0 && pair.slice(0, eq).trim().toLowerCase() === 'for') out.push(pair.slice(eq + 1).trim());
    }
  }
  return out;
}

/** What the connection says about where a request came from. */
export interface AddressFacts {
  /** The socket's remote address. */
  readonly peer: string;
  /** `X-Forwarded-For`, if sent. */
  readonly forwardedFor?: string | undefined;
  /** RFC 7239 `Forwarded`, if sent (preferred over X-Forwarded-For). */
  readonly forwarded?: string | undefined;
}

/**
 * The client's address. The forwarding headers count only when the peer is a trusted proxy; then the
 * hops are read from the right (nearest) and the first one that is not itself a trusted proxy is the
 * client, so a client cannot choose its address by sending the header itself. A hop that is no
 * address (`unknown`, an obfuscated name) ends the walk at the last trusted hop.
 */
export function clientAddress(facts: AddressFacts, trusted: TrustedProxies): string {
  const peer = normalizeAddress(facts.peer) ?? facts.peer;
  if (!trusted.contains(peer)) return peer;
  const header = facts.forwarded ?? facts.forwardedFor;
  if (header === undefined) return peer;
  const hops = facts.forwarded !== undefined ? forwardedFor(header) : header.split(',');
  let client = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = normalizeAddress(hops[i] ?? '');
    if (hop === undefined) return client;
    client = hop;
    if (!trusted.contains(hop)) return hop;
  }
  return client;
}
