/**
 * A last-in-first-out stack of cleanup steps (stop server, stop PostgreSQL, remove temp dirs) that
 * runs exactly once: at the end of the run, on failure, or on SIGINT/SIGTERM.
 */
export class Cleanup {
  private readonly steps: { readonly name: string; readonly run: () => Promise<void> | void }[] = [];
  private running: Promise<void> | undefined;
  private signalled = false;

  /** True once SIGINT/SIGTERM arrived: the run must not report or write (partial) results. */
  get interrupted(): boolean {
    return this.signalled;
  }

  /** Registers a step; returns a function that runs it now (once) and unregisters it. */
  add(name: string, run: () => Promise<void> | void): () => Promise<void> {
    const step = { name, run };
    this.steps.push(step);
    return async () => {
      const i = this.steps.indexOf(step);
      if (i < 0) return;
      this.steps.splice(i, 1);
      await run();
    };
  }

  runAll(): Promise<void> {
    this.running ??= this.drain();
    return this.running;
  }

  private async drain(): Promise<void> {
    for (let step = this.steps.pop(); step !== undefined; step = this.steps.pop()) {
      try {
        await step.run();
      } catch (e: unknown) {
        process.stderr.write(`bench: cleanup "${step.name}" failed: ${e instanceof Error ? e.message : String(e)}\n`);
      }
    }
  }

  /** On SIGINT/SIGTERM: clean up, then exit 130/143. */
  installSignalHandlers(): void {
    const onSignal = (signal: NodeJS.Signals, code: number): void => {
      this.signalled = true;
      process.stderr.write(`\nbench: ${signal}, cleaning up\n`);
      void this.runAll().finally(() => process.exit(code));
    };
    process.once('SIGINT', () => onSignal('SIGINT', 130));
    process.once('SIGTERM', () => onSignal('SIGTERM', 143));
  }
}
