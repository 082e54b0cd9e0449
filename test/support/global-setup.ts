import type { TestProject } from 'vitest/node';
import { startPostgres, type PgServer } from '@taxiway/testing';

declare module 'vitest' {
  export interface ProvidedContext {
    pgUrl: string;
  }
}

let server: PgServer | undefined;

/** One real PostgreSQL server for the whole integration run; each test file creates its own database. */
export async function setup(project: TestProject): Promise<void> {
  server = await startPostgres({ fast: true });
  project.provide('pgUrl', server.url);
}

export async function teardown(): Promise<void> {
  await server?.stop();
}
