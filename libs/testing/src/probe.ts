/** A request made again and again while some work runs: its URL and headers. */
export interface Probe {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * Runs `work` while each probe is requested every `intervalMs` (one request at a time per probe),
 * as a client of the server would; the work's result, its wall time, and each probe's latencies (ms).
 */
export async function whileProbing<T>(
  probes: readonly Probe[],
  work: () => Promise<T>,
  intervalMs = 20,
): Promise<{ result: T; seconds: number; latencies: number[][] }> {
  const stop = { done: false };
  const running = probes.map((p) => probeUntil(p, stop, intervalMs));
  const t0 = performance.now();
  let result: T;
  try {
    result = await work();
  } finally {
    stop.done = true;
  }
  const seconds = (performance.now() - t0) / 1000;
  return { result, seconds, latencies: await Promise.all(running) };
}

async function probeUntil(p: Probe, stop: { readonly done: boolean }, intervalMs: number): Promise<number[]> {
  const out: number[] = [];
  while (!stop.done) {
    const t = performance.now();
    await (await fetch(p.url, { headers: p.headers })).arrayBuffer();
    out.push(performance.now() - t);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return out;
}
