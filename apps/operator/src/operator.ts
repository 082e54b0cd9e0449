import { createServer, type Server } from 'node:http';
import type { V1Secret } from '@kubernetes/client-node';
import type { SqlCatalogStore } from '@taxiway/store';
import { Applier, type SyncResult } from './applier';
import { secretRefs } from './desired';
import { IngressManager, type IngressSettings } from './ingress';
import { Kube } from './kube';
import { LeaderElector } from './leader';
import { OperatorMetrics } from '@taxiway/metrics';
import { KeyedQueue } from './queue';
import { Reconciler } from './reconciler';
import { isDeleting, KINDS, resourceKey, type Kind, type Resource } from './resources';
import { ok, type Verdict } from './status';
import { ResourceWatch, type Watcher, type WatchEvent } from './watch';

export interface OperatorOptions {
  readonly kube: Kube;
  /** The catalogue the desired state is applied to (libs/store, the same path as the config file). */
  readonly catalog: SqlCatalogStore;
  /** Watch one namespace, or every namespace when undefined. */
  readonly namespace: string | undefined;
  readonly publicBaseUrl: string;
  readonly resyncSeconds: number;
  readonly identity: string;
  readonly lease: { readonly namespace: string; readonly name: string; readonly durationSeconds: number; readonly retryMs: number };
  /** Where ApiRoot hostnames are routed. */
  readonly ingress: IngressSettings;
  /** Port of /metrics and /healthz (0 = any free port). */
  readonly port: number;
  readonly log: (msg: string, err?: unknown) => void;
  /** Called when leadership is lost: the process should exit (a new pod takes over cleanly). */
  readonly onLostLeadership: () => void;
}

const secretKey = (namespace: string, name: string): string => `${namespace}/${name}`;

/** The operator process: leader election, watches, the per-object queue, the applier, and /metrics + /healthz. */
export class Operator {
  readonly metrics = new OperatorMetrics();
  private readonly cache = new Map<string, Resource>();
  private readonly secrets = new Map<string, Readonly<Record<string, string>>>();
  private readonly watches: Watcher[] = [];
  private readonly applier: Applier;
  private readonly reconciler: Reconciler;
  private readonly queue: KeyedQueue;
  private readonly elector: LeaderElector;
  private http: Server | undefined;
  private leading = false;

  constructor(private readonly opts: OperatorOptions) {
    this.applier = new Applier(opts.catalog, { resources: () => [...this.cache.values()], secrets: (ns, name) => this.secrets.get(secretKey(ns, name)) }, (r) =>
      this.afterSync(r),
    );
    this.reconciler = new Reconciler({
      kube: opts.kube,
      applier: this.applier,
      metrics: this.metrics,
      cached: (key) => this.cache.get(key),
      remember: (r) => {
        const key = resourceKey(r);
        const cur = this.cache.get(key);
        // Never replace a newer object (a spec change that raced our patch) with an older one.
        if (cur === undefined || Number(cur.metadata.resourceVersion ?? 0) <= Number(r.metadata.resourceVersion ?? 0)) this.cache.set(key, r);
      },
      rootUrl: (path) => `${opts.publicBaseUrl.replace(/\/$/, '')}/${path}/`,
      resyncMs: opts.resyncSeconds * 1000,
      ingress: new IngressManager(opts.kube, opts.ingress),
      log: opts.log,
    });
    this.queue = new KeyedQueue(
      (key) => this.reconciler.reconcile(key),
      4,
      (key, err) => opts.log(`${key}: reconcile failed`, err),
    );
    this.reconciler.queue = this.queue;
    this.elector = new LeaderElector(opts.kube.config, {
      namespace: opts.lease.namespace,
      name: opts.lease.name,
      identity: opts.identity,
      leaseDurationSeconds: opts.lease.durationSeconds,
      retryPeriodMs: opts.lease.retryMs,
      onStartedLeading: () => this.lead(),
      onStoppedLeading: () => {
        this.metrics.leader.set(0);
        this.opts.onLostLeadership();
      },
      log: opts.log,
    });
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** The URL of /metrics and /healthz once started. */
  async start(): Promise<string> {
    this.http = createServer((req, res) => void this.serve(req.url ?? '', res));
    await new Promise<void>((resolve) => this.http?.listen(this.opts.port, '0.0.0.0', resolve));
    const addr = this.http.address();
    this.elector.start();
    return `http://127.0.0.1:${typeof addr === 'object' && addr !== null ? addr.port : this.opts.port}`;
  }

  /** Graceful: stop watching, finish the reconciles in flight, give the lease up. */
  async stop(): Promise<void> {
    for (const w of this.watches) w.stop();
    await this.queue.stop();
    await this.elector.stop();
    this.leading = false;
    await new Promise<void>((resolve) => (this.http === undefined ? resolve() : this.http.close(() => resolve())));
  }

  private async serve(url: string, res: import('node:http').ServerResponse): Promise<void> {
    this.metrics.queueDepth.set(this.queue.depth);
    if (url === '/metrics') {
      res.writeHead(200, { 'content-type': this.metrics.registry.contentType });
      res.end(await this.metrics.registry.metrics());
    } else if (url === '/healthz' || url === '/readyz') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'ok', leader: this.leading }));
    } else {
      res.writeHead(404).end();
    }
  }

  /** Runs while this replica leads: list and watch everything, then reconcile every resource. */
  private async lead(): Promise<void> {
    this.leading = true;
    this.metrics.leader.set(1);
    const ns = this.opts.namespace;
    for (const kind of KINDS) this.watches.push(this.resourceWatch(kind, ns));
    this.watches.push(this.secretWatch(ns));
    // Everything is listed before the first apply: an apply from a partial cache would prune.
    await Promise.all(this.watches.map((w) => w.start()));
    for (const key of this.cache.keys()) this.queue.add(key);
  }

  private resourceWatch(kind: Kind, ns: string | undefined): ResourceWatch<Resource> {
    return new ResourceWatch<Resource>(this.opts.kube, {
      path: Kube.path(kind, ns),
      list: () => this.opts.kube.list(kind, ns),
      onSync: (items) => {
        for (const key of [...this.cache.keys()]) if (key.startsWith(`${kind}/`)) this.cache.delete(key);
        for (const r of items) this.cache.set(resourceKey({ ...r, kind }), { ...r, kind });
        if (this.watches.every((w) => w.hasSynced)) for (const r of items) this.queue.add(resourceKey({ ...r, kind }));
      },
      onEvent: (type, obj) => this.onResource(type, { ...obj, kind }),
      onError: (err) => {
        this.metrics.watchErrors.inc({ resource: kind });
        this.opts.log(`watch of ${kind} failed; re-establishing`, err);
      },
    });
  }

  private onResource(type: WatchEvent, r: Resource): void {
    const key = resourceKey(r);
    const prev = this.cache.get(key);
    if (type === 'DELETED') {
      this.cache.delete(key);
      return;
    }
    this.cache.set(key, r);
    // Status-only updates (our own patches) change nothing to reconcile.
    const meaningful =
      prev === undefined ||
      prev.metadata.generation !== r.metadata.generation ||
      prev.metadata.deletionTimestamp !== r.metadata.deletionTimestamp ||
      JSON.stringify(prev.metadata.finalizers ?? []) !== JSON.stringify(r.metadata.finalizers ?? []);
    if (meaningful) this.queue.add(key);
  }

  private secretWatch(ns: string | undefined): ResourceWatch<V1Secret> {
    const decode = (s: V1Secret): Record<string, string> =>
      Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
    const list = async (): Promise<{ items: V1Secret[]; resourceVersion: string }> => {
      const res = ns === undefined ? await this.opts.kube.core.listSecretForAllNamespaces() : await this.opts.kube.core.listNamespacedSecret({ namespace: ns });
      return { items: res.items, resourceVersion: res.metadata?.resourceVersion ?? '' };
    };
    return new ResourceWatch<V1Secret>(this.opts.kube, {
      path: ns === undefined ? '/api/v1/secrets' : `/api/v1/namespaces/${ns}/secrets`,
      list,
      onSync: (items) => {
        this.secrets.clear();
        for (const s of items) this.secrets.set(secretKey(s.metadata?.namespace ?? '', s.metadata?.name ?? ''), decode(s));
      },
      onEvent: (type, s) => {
        const key = secretKey(s.metadata?.namespace ?? '', s.metadata?.name ?? '');
        if (type === 'DELETED') this.secrets.delete(key);
        else this.secrets.set(key, decode(s));
        this.requeuePrincipalsUsing(s.metadata?.namespace ?? '', s.metadata?.name ?? '');
      },
      onError: (err) => {
        this.metrics.watchErrors.inc({ resource: 'Secret' });
        this.opts.log('watch of Secrets failed; re-establishing', err);
      },
    });
  }

  /** Principals that reference this Secret see its new value on their next reconcile. */
  private requeuePrincipalsUsing(namespace: string, secret: string): void {
    for (const r of this.cache.values()) {
      if (r.kind === 'Principal' && r.metadata.namespace === namespace && secretRefs(r).some((ref) => ref.name === secret)) this.queue.add(resourceKey(r));
    }
  }

  /** After every apply: resources whose Ready condition no longer tells the truth are reconciled again. */
  private afterSync(result: SyncResult): void {
    this.metrics.applies.inc({ result: result.ok ? 'success' : 'error' });
    this.metrics.applyDuration.observe(result.durationMs / 1000);
    if (!result.ok) return;
    for (const r of this.cache.values()) if (!isDeleting(r) && stale(r, result.failures.get(resourceKey(r)) ?? ok())) this.queue.add(resourceKey(r));
  }
}

/** True if the resource's Ready condition does not say what the verdict says. */
function stale(r: Resource, v: Verdict): boolean {
  const ready = r.status?.conditions?.find((c) => c.type === 'Ready');
  return ready?.status !== (v.ready ? 'True' : 'False') || ready.reason !== v.reason || ready.observedGeneration !== r.metadata.generation;
}
