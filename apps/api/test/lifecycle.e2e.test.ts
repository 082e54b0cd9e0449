import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '@taxiway/config';
import { freePort } from '@taxiway/testing';
import { createTaxiwayServer } from '../src/server';
import { freshDatabase } from '../../../test/support/db';
import { startServer } from '../../../test/support/server';
import { STATE } from './fixture';

// Depth: the real server's start and stop (NestJS lifecycle, ADR 0014) on PostgreSQL and PGlite.

/** Sessions connected to the database at `url` (other than this one). */
async function sessions(url: string): Promise<number> {
  const admin = new URL(url);
  const name = admin.pathname.slice(1);
  admin.pathname = '/postgres';
  const c = new Client({ connectionString: admin.toString() });
  await c.connect();
  try {
    const r = await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1`, [name]);
    return r.rows[0]?.n ?? -1;
  } finally {
    await c.end();
  }
}

describe('start and stop (issue 13, ADR 0014)', () => {
  it('answers not ready first on close, before the push worker stops and while the shutdown delay runs', async () => {
    const s = await startServer(STATE, { env: { SHUTDOWN_DELAY_SECONDS: '1' } });
    const worker = s.server.pushWorker!;
    const stop = worker.stop.bind(worker);
    // A push delivery in flight holds the worker's stop for a while: readiness must not wait for it.
    worker.stop = async () => {
      await new Promise((r) => setTimeout(r, 1500));
      await stop();
    };
    const closing = s.close();
    await new Promise((r) => setTimeout(r, 300));
    const r = await fetch(`${s.url}/readyz`);
    expect(r.status).toBe(503);
    expect(((await r.json()) as { checks: Record<string, boolean> }).checks['accepting']).toBe(false);
    await closing;
  });

  it('closes twice without hanging on the embedded PGlite', async () => {
    const s = await startServer(STATE, { backend: 'pglite' });
    await s.close();
    await expect(Promise.race([s.close().then(() => 'closed'), new Promise((r) => setTimeout(() => r('hung'), 5000))])).resolves.toBe('closed');
  });

  it('a start that fails after the database opened (an invalid configuration file) rejects and leaves no connection open', async () => {
    const url = await freshDatabase('lifecycle');
    const dir = mkdtempSync(join(tmpdir(), 'taxiway-bad-config-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'kind: ApiRoot\nmetadata: { name: taxii2 }\nspec: {}\n');
    const config = loadConfig({ PORT: String(await freePort()), HOST: '127.0.0.1', DATABASE_URL: url, METRICS_PORT: '0', TAXIWAY_CONFIG: file }, []);
    await expect(createTaxiwayServer(config, { logger: false })).rejects.toThrow(/reserved|taxii2/);
    // A closed connection's backend leaves pg_stat_activity a moment after the client ends; a leaked
    // pool (idle connections kept 30 s) or LISTEN client (reconnecting) would stay.
    let open = await sessions(url);
    for (let i = 0; i < 30 && open > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      open = await sessions(url);
    }
    expect(open).toBe(0);
  });
});
