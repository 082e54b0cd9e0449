import { envelopes, generateCorpus, type StixObject } from '@taxiway/testing';
import { elapsedMs, summarizeLatencies, type LatencySummary } from './stats';
import { parseJsonObject, TaxiiClient, type TaxiiResponse } from './taxii-client';
import { WARMUP_COLLECTION } from './server';

/** An envelope serialized ahead of time, so that client-side JSON work is not timed. */
export interface PreparedEnvelope {
  readonly body: string;
  readonly count: number;
}

export interface IngestResult {
  readonly envelopeSize: number;
  readonly objects: number;
  readonly envelopes: number;
  readonly concurrency: number;
  readonly seconds: number;
  readonly objectsPerSecond: number;
  /** Latency of one POST (one envelope), in ms. */
  readonly postLatency: LatencySummary;
}

export function prepareEnvelopes(objects: readonly StixObject[], size: number): PreparedEnvelope[] {
  return envelopes(objects, size).map((e) => ({ body: JSON.stringify(e), count: e.objects.length }));
}

/** Throws unless the answer is 202 with a complete status that stored every object of the envelope. */
export function verifyAddStatus(res: TaxiiResponse, expected: number, what: string): void {
  if (res.status !== 202) throw new Error(`${what}: HTTP ${res.status}, expected 202: ${res.body.slice(0, 500)}`);
  const s = parseJsonObject(res.body, what);
  const problems: string[] = [];
  if (s['status'] !== 'complete') problems.push(`status=${JSON.stringify(s['status'])}`);
  if (s['total_count'] !== expected) problems.push(`total_count=${String(s['total_count'])}`);
  if (s['success_count'] !== expected) problems.push(`success_count=${String(s['success_count'])}`);
  if (s['failure_count'] !== 0) problems.push(`failure_count=${String(s['failure_count'])}`);
  if (s['pending_count'] !== 0) problems.push(`pending_count=${String(s['pending_count'])}`);
  if (problems.length > 0) {
    throw new Error(`${what}: expected ${expected} objects stored, got ${problems.join(', ')}; failures: ${JSON.stringify(s['failures'] ?? []).slice(0, 500)}`);
  }
}

/** How hard and how long an ingest may push. */
export interface IngestLimits {
  /** Posting clients in flight. */
  readonly concurrency: number;
  /** The ingest fails if it has not finished after this long. */
  readonly maxSeconds: number;
}

/** Posts every envelope with `concurrency` clients in flight; verifies each status; stops at the deadline. */
export async function ingest(client: TaxiiClient, collectionId: string, prepared: readonly PreparedEnvelope[], limits: IngestLimits): Promise<IngestResult> {
  const { concurrency, maxSeconds } = limits;
  const path = TaxiiClient.collectionPath(collectionId, 'objects');
  const latencies: number[] = [];
  const deadline = performance.now() + maxSeconds * 1000;
  let nextIndex = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed) {
      const i = nextIndex++;
      const envelope = prepared[i];
      if (envelope === undefined) return;
      if (performance.now() > deadline) throw new Error(`ingest did not finish within ${maxSeconds}s (${i}/${prepared.length} envelopes posted)`);
      const t0 = performance.now();
      const res = await client.post(path, envelope.body);
      latencies.push(elapsedMs(t0));
      verifyAddStatus(res, envelope.count, `envelope ${i + 1}/${prepared.length}`);
    }
  };
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, () =>
      worker().catch((e: unknown) => {
        failed = true;
        throw e;
      }),
    ),
  );
  const seconds = elapsedMs(start) / 1000;
  const objects = prepared.reduce((n, e) => n + e.count, 0);
  return {
    envelopeSize: prepared[0]?.count ?? 0,
    objects,
    envelopes: prepared.length,
    concurrency,
    seconds,
    objectsPerSecond: objects / seconds,
    postLatency: summarizeLatencies(latencies),
  };
}

/** Warms up the server (JIT, connection pools, caches) by posting to the separate warm-up collection. */
export async function warmUpIngest(client: TaxiiClient, seed: number): Promise<void> {
  const corpus = generateCorpus(1_000, { seed: seed + 1_000_003 });
  const prepared = [...prepareEnvelopes(corpus.slice(0, 500), 100), ...prepareEnvelopes(corpus.slice(500), 500)];
  const path = TaxiiClient.collectionPath(WARMUP_COLLECTION, 'objects');
  for (const [i, e] of prepared.entries()) verifyAddStatus(await client.post(path, e.body), e.count, `warm-up envelope ${i + 1}`);
  const res = await client.get(`${TaxiiClient.collectionPath(WARMUP_COLLECTION, 'objects')}?limit=1000`);
  if (res.status !== 200) throw new Error(`warm-up read: HTTP ${res.status}: ${res.body.slice(0, 300)}`);
}
