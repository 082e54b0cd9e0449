/**
 * Cooperative slicing of long synchronous loops: a loop checks `due` on every step (cheap) and, when
 * it is, awaits `yield()`, which lets the event loop run timers and I/O before the loop goes on. A
 * slice therefore holds the event loop for about `sliceMs` whatever each step costs, where a fixed
 * number of steps per slice would hold it for as long as the steps happen to take.
 */
export class Pacer {
  private started = performance.now();

  constructor(private readonly sliceMs = DEFAULT_SLICE_MS) {}

  /** True once this slice has run its time. */
  get due(): boolean {
    return performance.now() - this.started >= this.sliceMs;
  }

  /** Lets the event loop run (setImmediate: after pending I/O), then starts a new slice. */
  async yield(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.started = performance.now();
  }

  /** Yields if the slice is due; for loops that do not mind an await per step. */
  async step(): Promise<void> {
    if (this.due) await this.yield();
  }
}

/** How long one slice of a long loop may hold the event loop. */
export const DEFAULT_SLICE_MS = 8;

/**
 * `items.map(f).join(sep)` in slices of about `sliceMs`: for building large JSON texts (status
 * resources of many thousand entries) without holding the event loop for the whole text.
 */
export async function joinPaced<T>(items: readonly T[], f: (item: T) => string, sep = ',', pacer = new Pacer()): Promise<string> {
  const parts: string[] = [];
  let part: string[] = [];
  for (const item of items) {
    part.push(f(item));
    if (pacer.due) {
      parts.push(part.join(sep));
      part = [];
      await pacer.yield();
    }
  }
  if (part.length > 0) parts.push(part.join(sep));
  return parts.join(sep);
}
