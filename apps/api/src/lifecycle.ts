import type { FastifyBaseLogger } from 'fastify';

/**
 * One stage of shutdown: a failure is logged and the next stages still run (Nest stops at the first
 * hook that throws, which would leave the database pool and PGlite open behind a failed audit flush).
 */
export async function shutdownStage(log: FastifyBaseLogger, what: string, work: () => Promise<void> | void): Promise<void> {
  try {
    await work();
  } catch (err: unknown) {
    log.error({ err, stage: what }, 'shutdown stage failed');
  }
}

/**
 * What start-up opened before the application existed: when a provider factory fails inside
 * NestFactory.create, no module's shutdown hook can run, so the facade closes these (last opened
 * first). Factories register each handle they open (the database, the catalogue's listener).
 */
export class StartupResources {
  private readonly closers: (() => Promise<void>)[] = [];

  add(close: () => Promise<void>): void {
    this.closers.push(close);
  }

  async closeAll(): Promise<void> {
    for (const close of this.closers.reverse()) await close().catch(() => undefined);
    this.closers.length = 0;
  }
}
