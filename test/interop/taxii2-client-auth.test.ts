import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueApiKey } from '@taxiway/auth';
import { SqlAdminStore } from '@taxiway/store';
import { startServer, type RunningServer } from '../support/server';
import { RW, STATE } from '../../apps/api/test/fixture';

const run = promisify(execFile);
const PYTHON = resolve(__dirname, '../../.venv-interop/bin/python');

describe('interop: taxii2-client authenticates with a password, an API key as Token, and a key as the Basic password', () => {
  let s: RunningServer;
  let key: string;
  beforeAll(async () => {
    if (!existsSync(PYTHON)) throw new Error(`${PYTHON} missing: run scripts/test-all.sh, which creates the interop virtualenv`);
    s = await startServer(STATE, { realBaseUrl: true });
    const issued = await issueApiKey();
    await new SqlAdminStore(s.server.database.dataSource).insertApiKey({ id: issued.id, principal: 'alice', secretHash: issued.secretHash });
    await s.server.catalog.reload();
    key = issued.key;
  });
  afterAll(async () => {
    await s?.close();
  });

  it.each([
    ['basic', 'alice', () => 'alice-pw'],
    ['token', '-', () => key],
    ['basic', 'any-user', () => key],
  ])('mode %s as %s', async (mode, user, secret) => {
    const { stdout } = await run(PYTHON, [resolve(__dirname, 'taxii2client_auth.py'), s.url, mode, user, secret(), RW], { timeout: 60_000 });
    expect(JSON.parse(stdout)).toEqual({ root: 'Tenant A', can_write: true, added: 1, seen: 1 });
  });
});
