import type { ApiMetrics } from '@taxiway/metrics';
import type { IngestFailureReason, SharingMeter } from '../taxii/taxii.service';

/**
 * Counts sharing volume into the metrics: per API root, collection (or `*`) and consumer (or `*`).
 * Bytes are counted by the HTTP hook from what it already knows (request body size, Content-Length).
 */
export class MetricsSharingMeter implements SharingMeter {
  constructor(private readonly m: ApiMetrics) {}

  ingested(
    ctx: Parameters<SharingMeter['ingested']>[0],
    r: { readonly objects: number; readonly failures: Readonly<Record<IngestFailureReason, number>> },
  ): void {
    const labels = { api_root: ctx.root.path, collection: this.m.collectionLabel(ctx.collection.name) };
    this.m.envelopesReceived.inc(labels);
    this.m.objectsIngested.inc(labels, r.objects);
    for (const [reason, n] of Object.entries(r.failures)) if (n > 0) this.m.ingestFailures.inc({ ...labels, reason }, n);
  }

  served(ctx: Parameters<SharingMeter['served']>[0], endpoint: string, r: { readonly objects: number }): void {
    const labels = { api_root: ctx.root.path, collection: this.m.collectionLabel(ctx.collection.name) };
    this.m.pagesServed.inc({ ...labels, endpoint });
    this.m.objectsServed.inc({ ...labels, endpoint }, r.objects);
    const consumer = { api_root: ctx.root.path, principal: this.m.principalLabel(ctx.principal.name) };
    this.m.consumerObjects.inc(consumer, r.objects);
    this.m.consumerPolls.inc(consumer);
    this.m.consumerLastPoll.set(consumer, Date.now() / 1000);
  }
}
