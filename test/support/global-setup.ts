import type { TestProject } from 'vitest/node';
import { startPostgres, type PgServer } from '@taxiway/testing';

declare module 'vitest' {
  export interface ProvidedContext {
    pgUrl: string;
  }
}

let server: Promise<PgServer> | undefined;
let users = 0;

/**
 * One real PostgreSQL server for the whole run, shared by the integration and cluster projects
 * (each calls setup); each test file creates its own database.
 */
export async function setup(project: TestProject): Promise<void> {
  users += 1;
  server ??= startPostgres({ fast: true });
  project.provide('pgUrl', (await server).url);
}

export async function teardown(): Promise<void> {
  users -= 1;
  if (users === 0) await (await server)?.stop();
}
