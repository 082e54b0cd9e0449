import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { statusCode } from './kube';

export interface LeaderOptions {
  readonly namespace: string;
  readonly name: string;
  /** This replica's identity (the pod name). */
  readonly identity: string;
  /** A lease not renewed for this long may be taken over. */
  readonly leaseDurationSeconds: number;
  /** How often the holder renews and the others retry. */
  readonly retryPeriodMs: number;
  readonly onStartedLeading: () => Promise<void>;
  /** Called when the lease is lost (renewal failed past its duration): stop acting at once. */
  readonly onStoppedLeading: () => void;
  readonly log: (msg: string, err?: unknown) => void;
}

/**
 * Lease-based leader election (coordination.k8s.io/v1, as client-go does it): acquire the Lease if
 * it is free or expired, renew it every retry period with optimistic concurrency (resourceVersion),
 * and stop leading when a renewal has not succeeded within the lease duration. Release on stop.
 */
export class LeaderElector {
  private readonly api: CoordinationV1Api;
  private timer: NodeJS.Timeout | undefined;
  private leading = false;
  private lastRenewMs = 0;
  private stopped = false;

  constructor(
    kc: KubeConfig,
    private readonly opts: LeaderOptions,
  ) {
    this.api = kc.makeApiClient(CoordinationV1Api);
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    void this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.leading) await this.release();
    this.leading = false;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), this.opts.retryPeriodMs);
  }

  private async tick(): Promise<void> {
    try {
      if (await this.tryAcquireOrRenew()) {
        this.lastRenewMs = Date.now();
        if (!this.leading) {
          this.leading = true;
          this.opts.log(`became leader (lease ${this.opts.namespace}/${this.opts.name})`);
          this.opts.onStartedLeading().catch((err: unknown) => this.opts.log('starting to lead failed', err));
        }
      }
    } catch (err: unknown) {
      this.opts.log('lease renewal failed', err);
    }
    if (this.leading && Date.now() - this.lastRenewMs > this.opts.leaseDurationSeconds * 1000) {
      this.leading = false;
      this.opts.log('lost the leader lease');
      this.opts.onStoppedLeading();
      return;
    }
    this.schedule();
  }

  private lease(prev: V1Lease | undefined, now: V1MicroTime): V1Lease {
    const spec = prev?.spec ?? {};
    const takeover = spec.holderIdentity !== this.opts.identity;
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.opts.name, namespace: this.opts.namespace, resourceVersion: prev?.metadata?.resourceVersion },
      spec: {
        holderIdentity: this.opts.identity,
        leaseDurationSeconds: this.opts.leaseDurationSeconds,
        // MicroTime: the API server wants six fractional digits, which Date.toISOString() lacks.
        acquireTime: takeover || spec.acquireTime === undefined ? now : new V1MicroTime(spec.acquireTime),
        renewTime: now,
        leaseTransitions: (spec.leaseTransitions ?? 0) + (takeover && prev !== undefined ? 1 : 0),
      },
    };
  }

  private async readLease(): Promise<V1Lease | undefined> {
    try {
      return await this.api.readNamespacedLease({ namespace: this.opts.namespace, name: this.opts.name });
    } catch (e: unknown) {
      if (statusCode(e) === 404) return undefined;
      throw e;
    }
  }

  /** True if another replica holds the lease and it has not expired. */
  private heldByOther(prev: V1Lease, nowMs: number): boolean {
    const holder = prev.spec?.holderIdentity ?? '';
    const renewed = prev.spec?.renewTime === undefined ? 0 : new Date(prev.spec.renewTime).getTime();
    const expired = renewed + (prev.spec?.leaseDurationSeconds ?? 0) * 1000 < nowMs;
    return holder !== this.opts.identity && holder !== '' && !expired;
  }

  /** True if this replica holds the lease after the call. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name } = this.opts;
    const now = new V1MicroTime();
    const prev = await this.readLease();
    if (prev === undefined) {
      await this.api.createNamespacedLease({ namespace, body: this.lease(undefined, now) });
      return true;
    }
    if (this.heldByOther(prev, now.getTime())) return false;
    try {
      await this.api.replaceNamespacedLease({ namespace, name, body: this.lease(prev, now) });
      return true;
    } catch (e: unknown) {
      if (statusCode(e) === 409) return false; // someone else renewed or took it first
      throw e;
    }
  }

  /** Gives the lease up so another replica can take over at once. */
  private async release(): Promise<void> {
    const { namespace, name } = this.opts;
    try {
      const prev = await this.api.readNamespacedLease({ namespace, name });
      if (prev.spec?.holderIdentity !== this.opts.identity) return;
      await this.api.replaceNamespacedLease({
        namespace,
        name,
        body: {
          ...prev,
          spec: {
            ...prev.spec,
            holderIdentity: '',
            leaseDurationSeconds: 1,
            renewTime: new V1MicroTime(),
            ...(prev.spec?.acquireTime !== undefined && { acquireTime: new V1MicroTime(prev.spec.acquireTime) }),
          },
        },
      });
    } catch (err: unknown) {
      this.opts.log('releasing the lease failed', err);
    }
  }
}
