import { lookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { Agent, type buildConnector } from 'undici';

/**
 * Where push deliveries may go. A subscriber chooses the address, so by default the server only
 * pushes to public addresses: loopback, private, link-local (cloud metadata), carrier-grade NAT,
 * multicast and unspecified addresses are refused, after DNS resolution and for the very address
 * connected to (no second lookup to race). A host named in TAXII1_PUSH_ALLOWED_HOSTS may resolve
 * anywhere; TAXII1_PUSH_ALLOW_PRIVATE=true lifts the address check for every host.
 */
const INTERNAL = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  INTERNAL.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  INTERNAL.addSubnet(net, prefix, 'ipv6');
}

/** True for addresses that are not on the public internet (IPv4-mapped IPv6 judged by its IPv4). */
export function isInternalAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped !== undefined) return INTERNAL.check(mapped, 'ipv4');
  const family = isIP(address);
  if (family === 0) return true;
  return INTERNAL.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

export interface PushPolicy {
  readonly allowedHosts: readonly string[];
  readonly allowPrivate: boolean;
}

/** True if push addresses may name `host`: any when the list is empty, else an exact name or a `.suffix`. */
export function hostAllowed(host: string, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return true;
  const h = host.toLowerCase();
  return allowed.some((a) => (a.startsWith('.') ? h.endsWith(a) : h === a));
}

function explicitlyAllowed(host: string, policy: PushPolicy): boolean {
  return policy.allowedHosts.length > 0 && hostAllowed(host, policy.allowedHosts);
}

/** Why a push address is refused before any lookup, or undefined: outside the allow-list, or an internal IP literal or localhost. */
export function addressProblem(url: URL, policy: PushPolicy): string | undefined {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!hostAllowed(host, policy.allowedHosts)) return `This server does not push to ${host} (TAXII1_PUSH_ALLOWED_HOSTS)`;
  if (policy.allowPrivate || explicitlyAllowed(host, policy)) return undefined;
  const internal = isIP(host) !== 0 ? isInternalAddress(host) : host === 'localhost' || host.endsWith('.localhost');
  return internal ? `This server does not push to internal addresses such as ${host} (TAXII1_PUSH_ALLOW_PRIVATE, TAXII1_PUSH_ALLOWED_HOSTS)` : undefined;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** Agent options besides the address check: timeouts, and TLS (`ca`, client `cert` and `key`) for the connections. */
export type CheckedAgentOptions = Omit<Agent.Options, 'connect'> & { readonly connect?: Omit<buildConnector.BuildOptions, 'lookup'> };

/**
 * An HTTP client whose connections resolve the host once and refuse internal addresses (unless the
 * policy allows them), so the address checked is the address connected to. Feeds pulling from an
 * upstream use it too, with their TLS and timeout options.
 */
export function pushAgent(policy: PushPolicy, agentOptions: CheckedAgentOptions = {}): Agent {
  const checkedLookup = (hostname: string, options: { all?: boolean }, callback: LookupCallback): void => {
    lookup(hostname, { all: true }, (err, addresses) => {
      if (err !== null) return callback(err, []);
      const open = policy.allowPrivate || explicitlyAllowed(hostname, policy);
      const bad = addresses.find((a) => !open && isInternalAddress(a.address));
      if (bad !== undefined) {
        return callback(
          Object.assign(new Error(`${hostname} resolves to the internal address ${bad.address}, which this server does not push to`), { code: 'EPUSHDENIED' }),
          [],
        );
      }
      const first = addresses[0];
      if (first === undefined) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
      if (options.all === true) return callback(null, addresses);
      callback(null, first.address, first.family);
    });
  };
  return new Agent({ ...agentOptions, connect: { ...agentOptions.connect, lookup: checkedLookup } });
}
