import type { Config } from '@taxiway/config';
import type { ApiRootInfo, CollectionInfo, Taxii1Store } from '@taxiway/domain';
import type { Taxii1Request } from '@taxiway/taxii1';
import type { CatalogService } from '../catalog/catalog.service';
import { CollectionInformationService } from './collection-information.service';
import { DiscoveryService } from './discovery.service';
import { InboxService } from './inbox.service';
import { PollService } from './poll.service';
import { SubscriptionService } from './subscription.service';
import { Taxii1Context, type Taxii1Answer, type Taxii1Call, type Taxii1Observers, type Taxii1ServiceName } from './taxii1-context';
import { Taxii1Status } from './taxii1-status';

export { Taxii1Status } from './taxii1-status';
export { toContentBlock, type PollAnswer, type Taxii1Answer, type Taxii1Call, type Taxii1Observers, type Taxii1ServiceName } from './taxii1-context';

const SERVICE_OF: Record<Taxii1Request['kind'], Taxii1ServiceName> = {
  discovery: 'discovery',
  collection_information: 'collection-management',
  subscription_management: 'collection-management',
  poll: 'poll',
  poll_fulfillment: 'poll',
  inbox: 'inbox',
};

/**
 * The TAXII 1.0/1.1 exchanges over the same collections, grants and store as TAXII 2.1: each
 * message goes to the service that takes it (discovery.service.ts, collection-information.service.ts,
 * subscription.service.ts, poll.service.ts, inbox.service.ts). Failures are thrown as Taxii1Status.
 */
export class Taxii1Service {
  private readonly ctx: Taxii1Context;
  private readonly discovery: DiscoveryService;
  private readonly information: CollectionInformationService;
  private readonly subscriptions: SubscriptionService;
  private readonly polls: PollService;
  private readonly inboxes: InboxService;

  constructor(store: Taxii1Store, catalog: CatalogService, config: Config, observers: Taxii1Observers) {
    this.ctx = new Taxii1Context(store, catalog, config, observers);
    this.discovery = new DiscoveryService(this.ctx);
    this.information = new CollectionInformationService(this.ctx);
    this.subscriptions = new SubscriptionService(this.ctx);
    this.polls = new PollService(this.ctx);
    this.inboxes = new InboxService(this.ctx);
  }

  async handle(msg: Taxii1Request, call: Taxii1Call): Promise<Taxii1Answer> {
    const expected = SERVICE_OF[msg.kind];
    if (expected !== call.service) {
      throw new Taxii1Status('BAD_MESSAGE', `The ${call.service} service does not take this message; send it to ${this.address(call.root, expected)}`);
    }
    switch (msg.kind) {
      case 'discovery':
        return this.discovery.discovery(msg.version, call);
      case 'collection_information':
        return this.information.collectionInformation(msg.version, call);
      case 'subscription_management':
        return this.subscriptions.subscriptionManagement(msg, call);
      case 'poll':
        return this.polls.poll(msg, call);
      case 'poll_fulfillment':
        return this.polls.fulfill(msg, call);
      case 'inbox':
        return this.inboxes.inbox(msg, call);
    }
  }

  /** The absolute address of a service of an API root (a collection's own inbox with `collection`). */
  address(root: ApiRootInfo, service: Taxii1ServiceName, collection?: CollectionInfo): string {
    return this.ctx.address(root, service, collection);
  }
}
