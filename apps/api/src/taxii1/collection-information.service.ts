import type { Access, ApiRootInfo, CollectionInfo } from '@taxiway/domain';
import {
  MESSAGE_BINDING,
  PROTOCOLS,
  STIX1_BINDINGS,
  STIX21_JSON_BINDING,
  type CollectionInformationResponse,
  type CollectionRecord,
  type Taxii1Version,
} from '@taxiway/taxii1';
import type { Taxii1Call, Taxii1Context } from './taxii1-context';

/** The Collection Management Service's Collection Information (1.1) / Feed Information (1.0) exchange. */
export class CollectionInformationService {
  constructor(private readonly ctx: Taxii1Context) {}

  /** The collections of the API root the caller may see, each with the services its grants let it use. */
  collectionInformation(version: Taxii1Version, call: Taxii1Call): CollectionInformationResponse {
    const collections: CollectionRecord[] = [];
    for (const { collection, access } of this.ctx.catalog.access.visibleCollections(call.root, call.principal)) {
      // A 1.0 feed must offer polling or push (XSD); a write-only drop box offers neither to its writer.
      if (version === '1.0' && !access.read) continue;
      collections.push(this.record(version, call.root, collection, access));
    }
    return { kind: 'collection_information_response', collections };
  }

  private record(version: Taxii1Version, root: ApiRootInfo, c: CollectionInfo, access: Access): CollectionRecord {
    const pushMethods =
      access.read && this.ctx.config.taxii1.pushEnabled
        ? PROTOCOLS.map((p) => ({ protocolBinding: p, messageBindings: [MESSAGE_BINDING['1.0'], MESSAGE_BINDING['1.1']] }))
        : [];
    return {
      name: c.name,
      description: c.description ?? c.title,
      available: true,
      // 1.1: no Content_Binding = every binding (content blocks of any binding are stored). 1.0 must list some.
      contentBindings: version === '1.0' ? [...STIX1_BINDINGS, STIX21_JSON_BINDING].map((id) => ({ id, subtypes: [] })) : [],
      pushMethods,
      pollingServices: access.read ? [this.ctx.serviceAddress(root, 'poll', version)] : [],
      subscriptionServices: access.read ? [this.ctx.serviceAddress(root, 'collection-management', version)] : [],
      receivingInboxes: access.write ? [this.ctx.serviceAddress(root, 'inbox', version, c)] : [],
    };
  }
}
