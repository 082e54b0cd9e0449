import type { FastifyBaseLogger } from 'fastify';
import type { Taxii1Config } from '@taxiway/config';
import type { ApiMetrics } from '@taxiway/metrics';
import type { CollectionInfo, Delivery, SubscriptionRow, Taxii1Store } from '@taxiway/domain';
import {
  MESSAGE_BINDING,
  NS,
  PROTOCOL_HTTP,
  PROTOCOL_HTTPS,
  SERVICES,
  parseXml,
  serializeAround,
  serializeBlocks,
  versionOfBinding,
  type Taxii1Version,
} from '@taxiway/taxii1';
import type { CatalogService } from '../catalog/catalog.service';
import { toContentBlock } from './taxii1-context';
import { addressProblem, pushAgent } from './push-address';
import { fetch, type Agent } from 'undici';

export interface PushWorkerDeps {
  readonly store: Taxii1Store;
  readonly catalog: CatalogService;
  readonly config: Taxii1Config;
  readonly log: FastifyBaseLogger;
  /** Undefined with METRICS_ENABLED=false. */
  readonly metrics: ApiMetrics | undefined;
}

/** Deliveries claimed per scan, and so the most pushes in flight from one replica. */
const CLAIM_BATCH = 8;

/**
 * Push delivery (ADR 0010). Content added to a collection queues one outbox entry per push
 * subscription in the same transaction; this worker claims due entries (the oldest per subscription,
 * so deliveries go out in order and one at a time per subscription, across every replica), POSTs
 * them as Inbox Messages to the subscriber's address, and records the outcome: delivered, retried
 * with exponential backoff, or given up after TAXII1_PUSH_GIVE_UP_SECONDS with the reason kept.
 */
export class PushWorker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  private readonly store: Taxii1Store;
  private readonly catalog: CatalogService;
  private readonly config: Taxii1Config;
  private readonly log: FastifyBaseLogger;
  private readonly metrics: ApiMetrics | undefined;

  private readonly policy: { allowedHosts: readonly string[]; allowPrivate: boolean };
  private readonly agent: Agent;

  constructor(deps: PushWorkerDeps) {
    ({ store: this.store, catalog: this.catalog, config: this.config, log: this.log, metrics: this.metrics } = deps);
    this.policy = { allowedHosts: this.config.pushAllowedHosts, allowPrivate: this.config.pushAllowPrivate };
    this.agent = pushAgent(this.policy);
  }

  start(): void {
    this.timer = setInterval(() => this.nudge(), this.config.pushIntervalMs);
    this.timer.unref();
    this.nudge();
  }

  /** Scans the outbox now (or right after the scan in progress). */
  nudge(): void {
    if (this.stopped) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    this.running = this.scan()
      .catch((err: unknown) => this.log.error({ err }, 'push outbox scan failed'))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.nudge();
        }
      });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
    await this.agent.close();
  }

  /** Claims and delivers due entries until none is left. */
  private async scan(): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      const lease = this.config.pushTimeoutMs * 2 + 5000;
      const due = await this.store.claimDeliveries(CLAIM_BATCH, lease);
      if (due.length === 0) return;
      await Promise.all(due.map((d) => this.deliver(d)));
    }
  }

  private labels(d: Delivery): { api_root: string; collection: string } {
    const c = this.catalog.collectionByPk(d.subscription.collectionPk);
    const root = c === undefined ? undefined : this.catalog.rootByPk(c.apiRootPk);
    return { api_root: root?.path ?? 'unknown', collection: this.metrics?.collectionLabel(c?.name ?? 'unknown') ?? '' };
  }

  private async deliver(d: Delivery): Promise<void> {
    const labels = this.labels(d);
    const started = process.hrtime.bigint();
    try {
      const blocks = await this.push(d);
      await this.store.delivered(d, blocks.throughUs, blocks.count);
      this.metrics?.pushDeliveries.inc({ ...labels, result: 'delivered' });
      if (blocks.count > 0) this.metrics?.pushBlocks.inc(labels, blocks.count);
    } catch (e) {
      await this.failed(d, labels, e instanceof Error ? e.message : String(e));
    } finally {
      this.metrics?.pushDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  /** Retries later, or gives up once the entry has been failing for TAXII1_PUSH_GIVE_UP_SECONDS. */
  private async failed(d: Delivery, labels: { api_root: string; collection: string }, reason: string): Promise<void> {
    if (d.firstFailedAtMs !== undefined && Date.now() - d.firstFailedAtMs >= this.config.pushGiveUpSeconds * 1000) {
      await this.store.giveUp(d, reason);
      this.metrics?.pushDeliveries.inc({ ...labels, result: 'failed' });
      this.log.warn({ subscription: d.subscription.id, attempts: d.attempts + 1, reason }, 'push delivery given up');
      return;
    }
    await this.store.retryLater(d, reason, backoffMs(d.attempts, this.config));
    this.metrics?.pushDeliveries.inc({ ...labels, result: 'retry' });
    this.log.info({ subscription: d.subscription.id, attempts: d.attempts + 1, reason }, 'push delivery failed; will retry');
  }

  /**
   * Sends one Inbox Message with the entry's next records (at most TAXII1_PUSH_MAX_BLOCKS) and
   * returns how far it got. A range without matching records is done without a message, except for
   * COUNT_ONLY subscriptions, which are told the count.
   */
  private async push(d: Delivery): Promise<{ count: number; throughUs: number }> {
    const { collection, address } = this.target(d.subscription);
    const sub = d.subscription;
    const version = versionOfBinding(address.messageBinding) ?? sub.version;
    const query = { collectionPk: collection.pk, window: d.window, bindings: sub.contentBindings };
    const countOnly = sub.responseType === 'COUNT_ONLY';
    const rows = countOnly ? [] : await this.store.blocks(query, this.config.pushMaxBlocks);
    // A full batch ends at its last record; the rest of the window stays queued.
    const sent = rows.length === this.config.pushMaxBlocks ? d.window.upTo(rows[rows.length - 1]!.labelUs) : d.window;
    const recordCount = countOnly
      ? (await this.store.openWindow({ collectionPk: collection.pk, requested: d.window, bindings: sub.contentBindings, partSize: Number.MAX_SAFE_INTEGER }))
          .count
      : rows.length;
    if (recordCount === 0) return { count: 0, throughUs: sent.throughUs };
    const { head, tail } = serializeAround(
      { kind: 'inbox_message', source: { collectionName: collection.name, subscriptionId: sub.id, window: sent }, recordCount, blocks: [] },
      version,
      '',
    );
    const body = head + serializeBlocks(rows.map(toContentBlock), version) + tail;
    await this.post(address.address, { https: address.protocol === PROTOCOL_HTTPS, version, body });
    return { count: rows.length, throughUs: sent.throughUs };
  }

  /**
   * Where a subscription's content goes, checked at delivery time: the subscriber must still exist
   * and libs/auth must still let it read the collection (the reason goes into the delivery's last
   * error and the log line), and the address must still be allowed.
   */
  private target(sub: SubscriptionRow): { collection: CollectionInfo; address: NonNullable<SubscriptionRow['push']> } {
    if (sub.push === undefined) throw new Error('the subscription has no push parameters');
    const collection = this.catalog.collectionByPk(sub.collectionPk);
    if (collection === undefined) throw new Error('the collection no longer exists');
    const principal = this.catalog.access.byPk(sub.principalPk);
    if (principal === undefined) throw new Error('the subscriber no longer exists');
    const decision = this.catalog.access.authorize(principal, { kind: 'collection', collection }, 'read');
    if (!decision.allowed) throw new Error(`the subscriber may no longer read the collection (${decision.reason})`);
    const problem = addressProblem(new URL(sub.push.address), this.policy);
    if (problem !== undefined) throw new Error(problem);
    return { collection, address: sub.push };
  }

  /** POSTs the message with the TAXII request headers and requires a SUCCESS Status Message back. */
  private async post(address: string, { https, version, body }: { https: boolean; version: Taxii1Version; body: string }): Promise<void> {
    const res = await fetch(address, {
      method: 'POST',
      headers: {
        'content-type': 'application/xml',
        accept: 'application/xml',
        'x-taxii-content-type': MESSAGE_BINDING[version],
        'x-taxii-accept': MESSAGE_BINDING[version],
        'x-taxii-services': SERVICES[version],
        'x-taxii-protocol': https ? PROTOCOL_HTTPS : PROTOCOL_HTTP,
        'user-agent': 'Taxiway push',
      },
      body,
      redirect: 'error',
      dispatcher: this.agent,
      signal: AbortSignal.timeout(this.config.pushTimeoutMs),
    });
    const text = (await res.text()).slice(0, 1_000_000);
    if (res.status !== 200) throw new Error(`the inbox answered HTTP ${res.status}`);
    const status = statusOf(text, version);
    if (status.type !== 'SUCCESS')
      throw new Error(`the inbox answered ${status.type}${status.message === undefined ? '' : `: ${status.message.slice(0, 300)}`}`);
  }
}

/** Exponential backoff with ±20% jitter: base × 2^attempts, capped. */
export function backoffMs(attempts: number, config: Pick<Taxii1Config, 'pushRetryBaseMs' | 'pushRetryMaxMs'>, random = Math.random): number {
  const raw = Math.min(config.pushRetryMaxMs, config.pushRetryBaseMs * 2 ** Math.min(attempts, 30));
  return Math.round(raw * (0.8 + 0.4 * random()));
}

/** The status type and message of a Status Message answer. */
function statusOf(xml: string, version: Taxii1Version): { type: string; message: string | undefined } {
  let root;
  try {
    root = parseXml(xml, { maxDepth: 20, maxElements: 1000 });
  } catch (e) {
    throw new Error(`the inbox's answer is not a TAXII message: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  if (root.ns !== NS[version] || root.local !== 'Status_Message')
    throw new Error(`the inbox answered with ${root.local}, not a TAXII ${version} Status_Message`);
  const message = root.children.find((c) => c.local === 'Message')?.text.trim();
  return { type: root.attrs.get('status_type') ?? 'FAILURE', message };
}
