import type { DiscoveryResponse, ServiceType, Taxii1Version } from '@taxiway/taxii1';
import type { Taxii1Call, Taxii1Context, Taxii1ServiceName } from './taxii1-context';

const SERVICE_TYPE: Record<Taxii1ServiceName, ServiceType> = {
  discovery: 'DISCOVERY',
  'collection-management': 'COLLECTION_MANAGEMENT',
  inbox: 'INBOX',
  poll: 'POLL',
};

/** The Discovery Service: the four services of the caller's API root, in the message binding of the request. */
export class DiscoveryService {
  constructor(private readonly ctx: Taxii1Context) {}

  discovery(version: Taxii1Version, call: Taxii1Call): DiscoveryResponse {
    const services = (['discovery', 'collection-management', 'inbox', 'poll'] as const).map((s) => ({
      type: SERVICE_TYPE[s],
      ...this.ctx.serviceAddress(call.root, s, version),
      available: true,
    }));
    return { kind: 'discovery_response', services };
  }
}
