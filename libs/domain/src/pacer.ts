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

/** Characters of JSON encoded to UTF-8 at a time by joinPacedBytes. */
const BYTES_PART_CHARS = 64 * 1024;

/**
 * `open + items.map(f).join(',') + close` as UTF-8 bytes, encoded a part at a time in slices of
 * about the pacer's slice. For JSON of megabytes that goes to a socket or a statement parameter:
 * encoding it from one long string is a single step of tens of milliseconds; bytes are only copied.
 */
export async function joinPacedBytes<T>(items: readonly T[], f: (item: T) => string, ends: readonly [string, string], pacer = new Pacer()): Promise<Buffer> {
  const parts: Buffer[] = [];
  let text = ends[0];
  let sep = '';
  for (const item of items) {
    text += sep + f(item);
    sep = ',';
    if (text.length < BYTES_PART_CHARS) continue;
    parts.push(Buffer.from(text, 'utf8'));
    text = '';
    if (pacer.due) await pacer.yield();
  }
  parts.push(Buffer.from(text + ends[1], 'utf8'));
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}
