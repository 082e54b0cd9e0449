import { createHash } from 'node:crypto';
import type { ApiRootInfo, CollectionInfo, SubscriptionRow } from '@taxiway/domain';
import {
  MESSAGE_BINDING,
  PROTOCOL_HTTPS,
  PROTOCOLS,
  type Binding,
  type PushParameters,
  type SubscriptionManagementRequest,
  type SubscriptionManagementResponse,
  type SubscriptionRecord,
  type Taxii1Version,
} from '@taxiway/taxii1';
import { addressProblem } from './push-address';
import { normalizeBindings, type Taxii1Call, type Taxii1Context } from './taxii1-context';
import { Taxii1Status } from './taxii1-status';

/** The Collection Management Service's Subscription Management exchange (SUBSCRIBE, UNSUBSCRIBE, PAUSE, RESUME, STATUS). */
export class SubscriptionService {
  constructor(private readonly ctx: Taxii1Context) {}

  async subscriptionManagement(msg: SubscriptionManagementRequest, call: Taxii1Call): Promise<SubscriptionManagementResponse> {
    const collection = this.ctx.permitted(call, msg.collectionName, 'read');
    const subs = await this.action(msg, call, collection);
    return { kind: 'subscription_management_response', collectionName: msg.collectionName, subscriptions: subs };
  }

  /** Carries out one action in the order §7.2.2 prescribes; returns the subscriptions to report. */
  private async action(msg: SubscriptionManagementRequest, call: Taxii1Call, collection: CollectionInfo): Promise<SubscriptionRecord[]> {
    if (msg.action === 'SUBSCRIBE') return [await this.subscribe(msg, call, collection)];
    if (msg.action === 'STATUS' && msg.subscriptionId === undefined) {
      const all = await this.ctx.store.subscriptions(collection.pk, call.principal.pk);
      return all.map((s) => this.record(s, msg.version, call.root, true));
    }
    const id = msg.subscriptionId ?? '';
    if (msg.action === 'UNSUBSCRIBE') return [await this.unsubscribe(msg.version, id, await this.ctx.store.subscription(collection.pk, call.principal.pk, id))];
    const sub = await this.ctx.subscription(call, collection, id, msg.collectionName);
    if (msg.action === 'STATUS') return [this.record(sub, msg.version, call.root, true)];
    return [await this.setStatus(sub, msg.action === 'PAUSE' ? 'PAUSED' : 'ACTIVE', msg.version, call.root)];
  }

  /** PAUSE or RESUME; pausing a paused or resuming an active subscription changes nothing (§7.2.2 step 6). */
  private async setStatus(sub: SubscriptionRow, status: 'ACTIVE' | 'PAUSED', version: Taxii1Version, root: ApiRootInfo): Promise<SubscriptionRecord> {
    if (sub.status !== status) await this.ctx.store.setStatus(sub.pk, status);
    if (status === 'ACTIVE') this.ctx.observers.nudgePush();
    return this.record({ ...sub, status }, version, root, false);
  }

  /** Unsubscribing from a subscription that does not exist succeeds and changes nothing (§7.2.2 step 3). */
  private async unsubscribe(version: Taxii1Version, id: string, sub: SubscriptionRow | undefined): Promise<SubscriptionRecord> {
    if (sub !== undefined) await this.ctx.store.unsubscribe(sub.pk);
    // cabby reads Subscription_Parameters from every subscription of a 1.1 answer: copy them, or the defaults.
    const parameters = version === '1.1' ? { responseType: sub?.responseType ?? 'FULL', contentBindings: sub?.contentBindings ?? [] } : undefined;
    return { id, status: 'UNSUBSCRIBED', parameters, pollInstances: [] };
  }

  private async subscribe(msg: SubscriptionManagementRequest, call: Taxii1Call, collection: CollectionInfo): Promise<SubscriptionRecord> {
    const params = msg.parameters;
    if (params?.queryFormat !== undefined) throw new Taxii1Status('UNSUPPORTED_QUERY', 'This server supports no query format; subscribe without a Query', []);
    const push = this.checkPush(msg.push);
    // 1.1 names the accepted bindings in the subscription parameters, 1.0 in the push parameters.
    const bindings = normalizeBindings(params?.contentBindings ?? msg.push?.contentBindings ?? []);
    const responseType = params?.responseType ?? 'FULL';
    const fingerprint = fingerprintOf({ v: msg.version, responseType, bindings, push: push ?? null });
    const { row } = await this.ctx.store.subscribe({
      collectionPk: collection.pk,
      principalPk: call.principal.pk,
      version: msg.version,
      responseType,
      contentBindings: bindings,
      push,
      fingerprint,
    });
    return this.record(row, msg.version, call.root, false);
  }

  /** Push parameters we can serve: a known protocol matching the address's scheme, an XML binding, an allowed host. */
  private checkPush(p: PushParameters | undefined): SubscriptionRow['push'] {
    if (p === undefined) return undefined;
    const config = this.ctx.config.taxii1;
    if (!config.pushEnabled) throw new Taxii1Status('DENIED', 'Push delivery is disabled on this server; subscribe without Push_Parameters and poll');
    if (!PROTOCOLS.includes(p.protocolBinding)) {
      throw new Taxii1Status(
        'UNSUPPORTED_PROTOCOL',
        `Protocol binding ${p.protocolBinding} is not supported`,
        PROTOCOLS.map((x) => ['SUPPORTED_PROTOCOL', x] as const),
      );
    }
    if (p.messageBinding !== MESSAGE_BINDING['1.0'] && p.messageBinding !== MESSAGE_BINDING['1.1']) {
      throw new Taxii1Status('UNSUPPORTED_MESSAGE', `Message binding ${p.messageBinding} is not supported`, [
        ['SUPPORTED_BINDING', MESSAGE_BINDING['1.0']],
        ['SUPPORTED_BINDING', MESSAGE_BINDING['1.1']],
      ]);
    }
    const url = absoluteUrl(p.address);
    const scheme = p.protocolBinding === PROTOCOL_HTTPS ? 'https:' : 'http:';
    if (url.protocol !== scheme)
      throw new Taxii1Status('UNSUPPORTED_PROTOCOL', `The push Address must be an ${scheme.slice(0, -1)} URL for ${p.protocolBinding}`);
    const problem = addressProblem(url, { allowedHosts: config.pushAllowedHosts, allowPrivate: config.pushAllowPrivate });
    if (problem !== undefined) throw new Taxii1Status('DENIED', problem);
    return { protocol: p.protocolBinding, address: p.address, messageBinding: p.messageBinding };
  }

  /**
   * A subscription as a response reports it. 1.1 always copies the parameters and the push
   * parameters (present iff we push to it); 1.0 shows the push parameters only in STATUS answers.
   */
  private record(s: SubscriptionRow, version: Taxii1Version, root: ApiRootInfo, status: boolean): SubscriptionRecord {
    const bindings: Binding[] = s.contentBindings.map((b) => ({ id: b.id, subtypes: b.subtypes }));
    const push =
      s.push === undefined || (version === '1.0' && !status)
        ? undefined
        : { protocolBinding: s.push.protocol, address: s.push.address, messageBinding: s.push.messageBinding, contentBindings: bindings };
    return {
      id: s.id,
      status: s.status,
      parameters: version === '1.1' ? { responseType: s.responseType, contentBindings: bindings } : undefined,
      push,
      pollInstances: [this.ctx.serviceAddress(root, 'poll', version)],
    };
  }
}

function absoluteUrl(address: string): URL {
  try {
    return new URL(address);
  } catch {
    throw new Taxii1Status('BAD_MESSAGE', `The push Address ${address.slice(0, 200)} is not an absolute URL`);
  }
}

/** Identifies identical SUBSCRIBE requests, which get the existing subscription back (§7.2.2 step 5). */
function fingerprintOf(request: unknown): string {
  return createHash('sha256').update(JSON.stringify(request)).digest('hex');
}
