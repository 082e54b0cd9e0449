import { hashSync } from '@node-rs/argon2';
import { loadConfig } from '@taxiway/config';
import type { DesiredState } from '@taxiway/domain';
import { createTaxiwayServer, type TaxiwayServer } from '../../apps/api/src/server';
import { freePort } from '@taxiway/testing';
import { freshDatabase } from './db';

export type BackendName = 'postgresql' | 'pglite';

export interface RunningServer {
  readonly url: string;
  readonly server: TaxiwayServer;
  /** JSON log lines the server wrote. */
  readonly logs: Record<string, unknown>[];
  close(): Promise<void>;
}

/** Starts the real server (Nest on Fastify, real database) on a free loopback port. */
export async function startServer(
  state: DesiredState,
  opts: { backend?: BackendName; env?: Record<string, string>; realBaseUrl?: boolean } = {},
): Promise<RunningServer> {
  const backend = opts.backend ?? 'postgresql';
  // A known port, so that discovery's absolute URLs (PUBLIC_BASE_URL) point at this very server.
  const port = String(await freePort());
  const env: Record<string, string> = {
    PORT: port,
    HOST: '127.0.0.1',
    PUBLIC_BASE_URL: opts.realBaseUrl === true ? `http://127.0.0.1:${port}` : 'https://taxii.example.test',
    TAXIWAY_DATA_DIR: ':memory:',
    // /metrics has its own listener by default (9464): give each test server its own port.
    METRICS_PORT: String(await freePort()),
    ...(backend === 'postgresql' && { DATABASE_URL: await freshDatabase('api') }),
    ...opts.env,
  };
  const config = loadConfig(env, []);
  const logs: Record<string, unknown>[] = [];
  const server = await createTaxiwayServer(config, {
    state,
    logger: { level: 'info', stream: { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) } },
  });
  const url = await server.listen();
  return { url, server, logs, close: () => server.close() };
}

const hashes = new Map<string, string>();
/** A principal whose password hash is computed once per test run. */
export function principal(name: string, password = `${name}-pw`): DesiredState['principals'][number] {
  return {
    name,
    displayName: name,
    disabled: false,
    passwordHash: () => {
      let h = hashes.get(password);
      if (h === undefined) {
        h = hashSync(password);
        hashes.set(password, h);
      }
      return Promise.resolve(h);
    },
  };
}

export const TAXII = 'application/taxii+json;version=2.1';

export function basic(user: string, password = `${user}-pw`): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

export interface Res {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly json: Record<string, unknown>;
}

/** The response body as JSON; an empty object for an empty or non-JSON body. */
function parseBody(text: string): Record<string, unknown> {
  if (text === '') return {};
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/** A small TAXII client over fetch: real HTTP to the real server. */
export function client(base: string, auth: string | undefined) {
  const call = async (method: string, path: string, init: { body?: string | undefined; headers?: Record<string, string> } = {}): Promise<Res> => {
    const headers: Record<string, string> = { accept: TAXII, ...(auth !== undefined && { authorization: auth }), ...init.headers };
    if (init.body !== undefined && headers['content-type'] === undefined) headers['content-type'] = TAXII;
    const r = await fetch(base + path, { method, headers, ...(init.body !== undefined && { body: init.body }) });
    const text = await r.text();
    return { status: r.status, headers: r.headers, text, json: parseBody(text) };
  };
  return {
    get: (path: string, headers?: Record<string, string>) => call('GET', path, headers === undefined ? {} : { headers }),
    post: (path: string, body: unknown, headers?: Record<string, string>) =>
      call('POST', path, { body: typeof body === 'string' ? body : JSON.stringify(body), ...(headers !== undefined && { headers }) }),
    del: (path: string) => call('DELETE', path),
    call,
  };
}
export type Client = ReturnType<typeof client>;
