import { Rng } from '@taxiway/testing';
import type { CpuSample } from './cpu';
import { elapsedMs, summarizeLatencies, type LatencySummary } from './stats';
import { parseJsonObject, TaxiiClient } from './taxii-client';

export const READ_KINDS = ['type-indicator', 'by-id', 'added-after', 'manifest-malware'] as const;
export type ReadKind = (typeof READ_KINDS)[number];

export const READ_KIND_LABELS: Readonly<Record<ReadKind, string>> = {
  'type-indicator': 'objects?match[type]=indicator&limit=100',
  'by-id': 'objects?match[id]=<random existing id>',
  'added-after': 'objects?added_after=<middle of collection>&limit=100',
  'manifest-malware': 'manifest?match[type]=malware&limit=100',
};

/** The inputs of the read mix. */
export interface ReadMix {
  readonly collectionId: string;
  readonly ids: readonly string[];
  readonly middleDateAdded: string;
  readonly seed: number;
}

export interface ReadResult {
  readonly concurrency: number;
  readonly seconds: number;
  readonly requests: number;
  readonly requestsPerSecond: number;
  readonly errors: number;
  readonly latency: LatencySummary;
  readonly byKind: Readonly<Record<ReadKind, LatencySummary>>;
  /** CPU per measured request of the server process and of PostgreSQL (0 for PGlite, which runs inside the server). */
  readonly cpuUsPerRequest?: { readonly server: number; readonly database: number };
}

function pathFor(kind: ReadKind, mix: ReadMix, rng: Rng): string {
  const objects = TaxiiClient.collectionPath(mix.collectionId, 'objects');
  const q = (params: Record<string, string>): string => new URLSearchParams(params).toString();
  switch (kind) {
    case 'type-indicator':
      return `${objects}?${q({ 'match[type]': 'indicator', limit: '100' })}`;
    case 'by-id':
      return `${objects}?${q({ 'match[id]': rng.pick(mix.ids) })}`;
    case 'added-after':
      return `${objects}?${q({ added_after: mix.middleDateAdded, limit: '100' })}`;
    case 'manifest-malware':
      return `${TaxiiClient.collectionPath(mix.collectionId, 'manifest')}?${q({ 'match[type]': 'malware', limit: '100' })}`;
  }
}

function objectsOf(body: Record<string, unknown>, what: string): Record<string, unknown>[] {
  const objects = body['objects'];
  if (!Array.isArray(objects) || objects.length === 0) throw new Error(`${what}: expected a non-empty "objects" list`);
  return objects.map((o: unknown) => (typeof o === 'object' && o !== null ? (o as Record<string, unknown>) : {}));
}

/** Runs each kind of request once and checks the answers, so the timed loop only needs status codes. */
export async function verifyReadMix(client: TaxiiClient, mix: ReadMix): Promise<void> {
  const rng = new Rng(mix.seed);
  for (const kind of READ_KINDS) {
    const path = pathFor(kind, mix, rng);
    const res = await client.get(path);
    if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status}: ${res.body.slice(0, 300)}`);
    const objects = objectsOf(parseJsonObject(res.body, path), path);
    const ids = objects.map((o) => String(o['id']));
    const bad = (why: string): Error => new Error(`${path}: ${why} (ids: ${ids.slice(0, 5).join(', ')})`);
    if (objects.length > 100) throw bad(`${objects.length} objects for limit=100`);
    if (kind === 'type-indicator' && objects.some((o) => o['type'] !== 'indicator')) throw bad('an object is not an indicator');
    if (kind === 'manifest-malware' && ids.some((id) => !id.startsWith('malware--'))) throw bad('a manifest entry is not malware');
    if (kind === 'by-id' && (objects.length !== 1 || !path.includes(encodeURIComponent(ids[0] ?? '')))) throw bad('expected exactly the requested object');
  }
}

export interface LoadOutcome {
  readonly seconds: number;
  readonly latencies: Readonly<Record<ReadKind, number[]>>;
  readonly errors: number;
  readonly firstError: string | undefined;
}

/** One closed-loop load run. */
interface LoadSpec {
  readonly concurrency: number;
  readonly seconds: number;
  readonly maxRequests: number;
}

/** `concurrency` closed-loop clients issue the mix round-robin until `seconds` pass or `maxRequests` are issued. */
export async function runLoad(client: TaxiiClient, mix: ReadMix, load: LoadSpec): Promise<LoadOutcome> {
  const { concurrency, seconds, maxRequests } = load;
  const latencies: Record<ReadKind, number[]> = { 'type-indicator': [], 'by-id': [], 'added-after': [], 'manifest-malware': [] };
  const rng = new Rng(mix.seed);
  let issued = 0;
  let errors = 0;
  let firstError: string | undefined;
  const start = performance.now();
  const end = start + seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < end && issued < maxRequests) {
      const kind = READ_KINDS[issued++ % READ_KINDS.length] ?? 'by-id';
      const path = pathFor(kind, mix, rng);
      const t0 = performance.now();
      let failure: string | undefined;
      try {
        const status = await client.getStatus(path);
        if (status !== 200) failure = `${path}: HTTP ${status}`;
      } catch (e: unknown) {
        failure = `${path}: ${e instanceof Error ? e.message : String(e)}`;
      }
      latencies[kind].push(elapsedMs(t0));
      if (failure !== undefined) {
        errors++;
        firstError ??= failure;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { seconds: elapsedMs(start) / 1000, latencies, errors, firstError };
}

/** A short unmeasured warm-up, then the measured run. Throws if any request failed. */
export async function measureReads(
  client: TaxiiClient,
  mix: ReadMix,
  opts: {
    readonly concurrency: number;
    readonly seconds: number;
    readonly warmupSeconds: number;
    readonly maxRequests: number;
    readonly cpu?: () => CpuSample;
  },
): Promise<ReadResult> {
  await verifyReadMix(client, mix);
  await runLoad(client, mix, { concurrency: opts.concurrency, seconds: opts.warmupSeconds, maxRequests: opts.maxRequests });
  const cpu0 = opts.cpu?.();
  const run = await runLoad(client, mix, { concurrency: opts.concurrency, seconds: opts.seconds, maxRequests: opts.maxRequests });
  const cpu1 = opts.cpu?.();
  if (run.errors > 0) throw new Error(`${run.errors} filtered reads failed; first: ${run.firstError ?? '?'}`);
  const all = READ_KINDS.flatMap((k) => run.latencies[k]);
  const byKind = Object.fromEntries(READ_KINDS.map((k) => [k, summarizeLatencies(run.latencies[k])])) as Record<ReadKind, LatencySummary>;
  return {
    concurrency: opts.concurrency,
    seconds: run.seconds,
    requests: all.length,
    requestsPerSecond: all.length / run.seconds,
    errors: run.errors,
    latency: summarizeLatencies(all),
    byKind,
    ...(cpu0 !== undefined &&
      cpu1 !== undefined && {
        cpuUsPerRequest: { server: ((cpu1.serverMs - cpu0.serverMs) * 1000) / all.length, database: ((cpu1.databaseMs - cpu0.databaseMs) * 1000) / all.length },
      }),
  };
}
