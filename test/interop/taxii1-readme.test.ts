import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDesiredStateFile } from '@taxiway/control';
import { startServer, type RunningServer } from '../support/server';

const run = promisify(execFile);
const BIN = resolve(__dirname, '../../.venv-interop/bin');

/** Replays the README's cabby commands (the CLI, as users type them) against the demo configuration. */
describe("README: cabby's command-line tools against the demo tenant", () => {
  let s: RunningServer;
  let dir: string;
  const cabby = async (tool: string, ...extra: string[]): Promise<string> => {
    const port = new URL(s.url).port;
    const args = [
      '--host',
      '127.0.0.1',
      '--port',
      port,
      '--discovery',
      '/taxii1/demo/discovery/',
      '--username',
      'demo',
      '--password',
      'demo-password',
      ...extra,
    ];
    // cabby's CLI exits 0 even on errors and logs to stderr: judge by what it printed.
    const { stdout, stderr } = await run(join(BIN, tool), args, { timeout: 60_000 });
    return stdout + stderr;
  };

  beforeAll(async () => {
    if (!existsSync(join(BIN, 'taxii-poll'))) throw new Error(`${BIN}/taxii-poll missing: run scripts/test-all.sh, which creates the interop virtualenv`);
    s = await startServer(loadDesiredStateFile(resolve(__dirname, '../../config/demo.yaml')), { backend: 'pglite', realBaseUrl: true });
    dir = mkdtempSync(join(tmpdir(), 'taxiway-readme-'));
  });
  afterAll(async () => {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('discovers, lists, pushes a package and polls it back', async () => {
    expect(await cabby('taxii-discovery')).toMatch(/Service Type: POLL[\s\S]*\/taxii1\/demo\/poll\//);
    const cols = await cabby('taxii-collections');
    expect(cols).toContain('Collection Name: indicators');
    expect(cols).toContain('Collection Name: feed');
    const pkg = '<stix:STIX_Package xmlns:stix="http://stix.mitre.org/stix-1" id="example:Package-readme" version="1.2"/>';
    writeFileSync(join(dir, 'package.xml'), pkg);
    expect(await cabby('taxii-push', '--dest', 'indicators', '--content-file', join(dir, 'package.xml'), '--binding', 'urn:stix.mitre.org:xml:1.2')).toContain(
      'Content block successfully pushed',
    );
    const polled = await cabby('taxii-poll', '-c', 'indicators', '--begin', '2026-11-01T00:00:00Z');
    expect(polled).toContain('id="example:Package-readme"');
    expect(polled).toContain('1 blocks polled');
  });
});
