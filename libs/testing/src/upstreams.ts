import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from './postgres';
import type { StixObject } from './stix';

/**
 * Real upstream TAXII servers for feed tests (issue 14), started from the PyPI packages in
 * `.venv-upstreams` (test/upstreams/requirements.txt): medallion 3 (the OASIS TAXII 2.1 reference
 * server, memory backend) and OpenTAXII 0.9 (TAXII 1.1/1.0 services and a TAXII 2.1 API, sqlite).
 * Each runs as its own Python process on a free loopback port with its configuration and data in a
 * temporary directory; stop() (or the test process exiting) kills it and removes the directory.
 * docs/upstreams.md records how each server pages, as the tests in test/upstreams observe it.
 */

const REPO = resolve(__dirname, '../../..');

/** The Python with medallion and OpenTAXII: TAXIWAY_UPSTREAMS_PYTHON, else `.venv-upstreams` at the repository root. */
export function upstreamsPython(): string {
  const fromEnv = process.env['TAXIWAY_UPSTREAMS_PYTHON'];
  const python = fromEnv !== undefined && fromEnv !== '' ? fromEnv : join(REPO, '.venv-upstreams/bin/python');
  if (!existsSync(python)) throw new Error(`${python} missing: scripts/test-all.sh creates .venv-upstreams from test/upstreams/requirements.txt`);
  return python;
}

/** A running upstream server process and the fault controls tests use on it. */
export interface UpstreamProcess {
  readonly port: number;
  /** http://127.0.0.1:<port> */
  readonly baseUrl: string;
  /** The `Authorization: Basic` header value of the configured account. */
  readonly authorization: string;
  readonly user: string;
  readonly password: string;
  /** The temporary directory with its configuration and data (sqlite files for OpenTAXII), for tests that tamper with them. */
  readonly dataDir: string;
  /** Everything the server wrote to stdout and stderr so far (the last 256 KiB). */
  output(): string;
  /** SIGKILL, as `kill -9`: no clean shutdown. The port and data directory stay. */
  kill9(): Promise<void>;
  /** Starts the server again on the same port and data (after kill9 or stop({ keepData: true })). */
  restart(): Promise<void>;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and removes its data unless keepData. */
  stop(opts?: { keepData?: boolean }): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A test process that ends without stop() (a failed beforeAll, a crash) leaves no server behind.
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

const OUTPUT_LIMIT = 256 * 1024;

interface ServerSpec {
  readonly name: string;
  /** Arguments to the upstreams Python. */
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Ready once this URL answers HTTP at all (any status). */
  readonly readyUrl: string;
  readonly timeoutMs: number;
}

/** One Python server process: spawned, waited for until it answers HTTP, killed and restarted on demand. */
class PythonServer {
  private child: ChildProcess | undefined;
  private log = '';

  constructor(private readonly spec: ServerSpec) {}

  output(): string {
    return this.log;
  }

  async start(): Promise<void> {
    installExitHook();
    const { name, argv, env, readyUrl, timeoutMs } = this.spec;
    const child = spawn(upstreamsPython(), [...argv], { env: { ...process.env, PYTHONUNBUFFERED: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    live.add(child);
    const append = (chunk: Buffer): void => {
      this.log = (this.log + chunk.toString('utf8')).slice(-OUTPUT_LIMIT);
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    child.once('exit', () => live.delete(child));
    const exited = new Promise<string>((done) => child.once('exit', (code, signal) => done(`exited with ${code ?? signal ?? 'unknown'}`)));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const early = await Promise.race([exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 100))]);
      if (early !== undefined) throw new Error(`${name} ${early} before it answered ${readyUrl}:\n${this.log}`);
      if (await answers(readyUrl)) return;
      if (Date.now() > deadline) {
        await this.kill('SIGKILL');
        throw new Error(`${name} did not answer ${readyUrl} within ${timeoutMs} ms:\n${this.log}`);
      }
    }
  }

  async kill(signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((done) => child.once('exit', () => done()));
    child.kill(signal);
    if (signal === 'SIGTERM') {
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await gone;
      clearTimeout(timer);
    } else await gone;
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await r.arrayBuffer();
    return true;
  } catch {
    return false;
  }
}

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

interface Account {
  readonly user: string;
  readonly password: string;
}

function processControls(server: PythonServer, dir: string, port: number, { user, password }: Account): UpstreamProcess {
  return {
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    authorization: basic(user, password),
    user,
    password,
    dataDir: dir,
    output: () => server.output(),
    kill9: () => server.kill('SIGKILL'),
    restart: async () => {
      await server.kill('SIGKILL');
      await server.start();
    },
    stop: async (opts = {}) => {
      await server.kill('SIGTERM');
      if (opts.keepData !== true) rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------- medallion

/** An object the medallion memory backend starts with, with the `date_added` its manifest records. */
export interface SeedObject {
  readonly object: StixObject;
  readonly dateAdded: string;
}

export interface MedallionCollectionSpec {
  /** Defaults to a random UUID. */
  readonly id?: string;
  readonly title: string;
  readonly canRead?: boolean;
  readonly canWrite?: boolean;
  readonly objects?: readonly SeedObject[];
}

export interface MedallionOptions {
  /** The API root's path segment (default `api1`). */
  readonly apiRoot?: string;
  /** Default: `rw` (readable, writable) and `ro` (readable only). */
  readonly collections?: readonly MedallionCollectionSpec[];
  readonly user?: string;
  readonly password?: string;
  /** `taxii.max_page_size`: the largest `limit` it honours, and the page size without one (default 100). */
  readonly maxPageSize?: number;
  /** Seconds a `next` token lives (memory backend `session_timeout`, default 30). */
  readonly nextTimeoutSeconds?: number;
  /** How often expired `next` tokens are swept (memory backend `check_interval`, default 10). */
  readonly nextSweepSeconds?: number;
  readonly maxContentLength?: number;
  readonly startTimeoutMs?: number;
}

export interface Medallion extends UpstreamProcess {
  /** `<base>/taxii2/` */
  readonly discoveryUrl: string;
  /** `<base>/<apiRoot>/` */
  readonly apiRootUrl: string;
  /** Collection title → id. */
  readonly collections: Readonly<Record<string, string>>;
  /** `<apiRootUrl>collections/<id>/` of the collection titled `title`. */
  collectionUrl(title: string): string;
}

/** medallion 3's memory backend data file: discovery, one API root, its collections with objects and manifest. */
function medallionData(
  base: string,
  root: string,
  cols: readonly (Required<Omit<MedallionCollectionSpec, 'objects'>> & MedallionCollectionSpec)[],
  maxContentLength: number,
): unknown {
  return {
    '/discovery': {
      title: 'medallion upstream',
      description: 'test upstream (Taxiway feeds)',
      contact: 'tests',
      default: `${base}/${root}/`,
      api_roots: [`${base}/${root}/`],
    },
    [root]: {
      information: { title: root, description: 'test API root', versions: ['application/taxii+json;version=2.1'], max_content_length: maxContentLength },
      status: [],
      collections: cols.map((c) => {
        const seeds = c.objects ?? [];
        return {
          id: c.id,
          title: c.title,
          description: '',
          can_read: c.canRead,
          can_write: c.canWrite,
          media_types: ['application/stix+json;version=2.1'],
          objects: seeds.map((s) => s.object),
          manifest: seeds.map((s) => ({
            id: s.object.id,
            date_added: s.dateAdded,
            version: (s.object['modified'] ?? s.object['created'] ?? s.dateAdded) as string,
            media_type: 'application/stix+json;version=2.1',
          })),
        };
      }),
    },
  };
}

function account(opts: { readonly user?: string; readonly password?: string }): Account {
  return { user: opts.user ?? 'upstream', password: opts.password ?? 'upstream-pw' };
}

/** medallion's configuration file: the memory backend on `dataFile`, one user, the page size. */
function medallionConfig(opts: MedallionOptions, dataFile: string, { user, password }: Account): unknown {
  return {
    backend: {
      module: 'medallion.backends.memory_backend',
      module_class: 'MemoryBackend',
      filename: dataFile,
      session_timeout: opts.nextTimeoutSeconds ?? 30,
      check_interval: opts.nextSweepSeconds ?? 10,
    },
    users: { [user]: password },
    taxii: { max_page_size: opts.maxPageSize ?? 100 },
  };
}

/** Starts the server; if it does not come up, its directory goes and the error (with its output) is thrown. */
async function startIn(dir: string, spec: ServerSpec): Promise<PythonServer> {
  const server = new PythonServer(spec);
  try {
    await server.start();
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return server;
}

export async function startMedallion(opts: MedallionOptions = {}): Promise<Medallion> {
  const dir = mkdtempSync(join(tmpdir(), 'taxiway-medallion-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const root = opts.apiRoot ?? 'api1';
  const acct = account(opts);
  const specs = opts.collections ?? [
    { title: 'rw', canRead: true, canWrite: true },
    { title: 'ro', canRead: true, canWrite: false },
  ];
  const cols = specs.map((c) => ({ ...c, id: c.id ?? crypto.randomUUID(), canRead: c.canRead ?? true, canWrite: c.canWrite ?? false }));
  const dataFile = join(dir, 'data.json');
  writeFileSync(dataFile, JSON.stringify(medallionData(base, root, cols, opts.maxContentLength ?? 10_485_760)));
  const configFile = join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify(medallionConfig(opts, dataFile, acct)));
  const server = await startIn(dir, {
    name: 'medallion',
    argv: ['-m', 'medallion.scripts.run', '--host', '127.0.0.1', '--port', String(port), '--log-level', 'INFO', configFile],
    env: {},
    readyUrl: `${base}/taxii2/`,
    timeoutMs: opts.startTimeoutMs ?? 30_000,
  });
  const collections = Object.fromEntries(cols.map((c) => [c.title, c.id]));
  const apiRootUrl = `${base}/${root}/`;
  return {
    ...processControls(server, dir, port, acct),
    discoveryUrl: `${base}/taxii2/`,
    apiRootUrl,
    collections,
    collectionUrl: (title) => {
      const id = collections[title];
      if (id === undefined) throw new Error(`medallion has no collection titled ${title}`);
      return `${apiRootUrl}collections/${id}/`;
    },
  };
}

// ---------------------------------------------------------------- OpenTAXII

export interface OpenTaxiiFeedSpec {
  readonly name: string;
  /** TAXII 1.1 collection type (default DATA_FEED, which TAXII 1.0 can poll too). */
  readonly type?: 'DATA_FEED' | 'DATA_SET';
}

export interface OpenTaxiiOptions {
  readonly user?: string;
  readonly password?: string;
  /** TAXII 1.x collections (default one DATA_FEED named `feed-a`). */
  readonly feeds?: readonly OpenTaxiiFeedSpec[];
  /** Poll service `max_result_size`: content blocks per result part (default 100). */
  readonly pollPartSize?: number;
  /** Poll service `max_result_count` (default 10000). */
  readonly pollMaxCount?: number;
  /** `count_blocks_in_poll_responses` (default false, OpenTAXII's default). */
  readonly countBlocks?: boolean;
  /** TAXII 2.1 collection titles under the one API root (default [`upstream`]); [] serves TAXII 1.x only. */
  readonly taxii2Collections?: readonly string[];
  readonly startTimeoutMs?: number;
}

export interface OpenTaxii extends UpstreamProcess {
  readonly taxii1: {
    readonly discovery: string;
    readonly collectionManagement: string;
    readonly inbox: string;
    readonly poll: string;
  };
  /** Absent when no TAXII 2.1 collection was asked for. */
  readonly taxii2?: {
    /** `<base>/taxii2/` */
    readonly discoveryUrl: string;
    /** `<base>/taxii2/<api root id>/` */
    readonly apiRootUrl: string;
    /** Collection title → id. */
    readonly collections: Readonly<Record<string, string>>;
    collectionUrl(title: string): string;
  };
}

/**
 * Starts OpenTAXII's Flask app under werkzeug (threaded), after syncing the TAXII 1.x services,
 * collections and account into sqlite and creating the TAXII 2.1 API root and collections once
 * (a restart finds them in the database). One patch: OpenTAXII 0.9.3 serializes TAXII 2.1
 * answers with the standard json module, which cannot encode the uuid.UUID ids its GUID column
 * returns, so collections, status and Add Objects answers fail with 500; the launcher encodes them
 * as strings (`default=str`), which is what the server intends.
 */
const OPENTAXII_LAUNCHER = `
import json, os, sys
work, port = sys.argv[1], int(sys.argv[2])

import opentaxii.taxii2.http as taxii2_http
class _Json:
    @staticmethod
    def dumps(value, **kwargs):
        return json.dumps(value, default=str, **kwargs)
taxii2_http.json = _Json

import yaml
from opentaxii.cli import app
from opentaxii.entities import Account
from opentaxii.local import context
from opentaxii.utils import sync_conf_dict_into_db

with open(os.path.join(work, "data.yml")) as f:
    data = yaml.safe_load(f)
with app.app_context():
    context.account = Account(id=None, username="local-admin", permissions=None, is_admin=True)
    sync_conf_dict_into_db(app.taxii_server, data)
    taxii2 = app.taxii_server.servers.taxii2
    ids = {}
    if taxii2 is not None:
        api = taxii2.persistence.api
        roots = api.get_api_roots()
        if not roots:
            root = api.add_api_root(title="upstream", description="test upstream (Taxiway feeds)", default=True)
            for title in data["taxii2_collections"]:
                api.add_collection(api_root_id=str(root.id), title=title, description=None, alias=None, is_public=False, is_public_write=False)
            roots = api.get_api_roots()
        root = roots[0]
        ids = {"api_root": str(root.id), "collections": {c.title: str(c.id) for c in api.get_collections(api_root_id=str(root.id))}}
    with open(os.path.join(work, "taxii2.json"), "w") as f:
        json.dump(ids, f)

from werkzeug.serving import run_simple
app.debug = False
run_simple("127.0.0.1", port, app, threaded=True)
`;

function yamlString(s: string): string {
  return JSON.stringify(s);
}

/** OpenTAXII's server configuration (OPENTAXII_CONFIG): sqlite files in `dir`, Basic auth, TAXII 2.1 only with collections. */
function openTaxiiConfig(opts: OpenTaxiiOptions, dir: string, port: number): string {
  const sqlite = (file: string): string => yamlString(`sqlite:///${join(dir, file)}`);
  const taxii2 =
    (opts.taxii2Collections ?? ['upstream']).length === 0
      ? ['taxii2:']
      : [
          'taxii2:',
          '  title: OpenTAXII upstream',
          '  max_content_length: 10485760',
          '  public_discovery: no',
          '  allow_custom_properties: yes',
          '  persistence_api:',
          '    class: opentaxii.persistence.sqldb.Taxii2SQLDatabaseAPI',
          '    parameters:',
          `      db_connection: ${sqlite('taxii2.db')}`,
          '      create_tables: yes',
        ];
  return [
    `domain: ${yamlString(`127.0.0.1:${port}`)}`,
    'support_basic_auth: yes',
    'return_server_error_details: yes',
    'auth_api:',
    '  class: opentaxii.auth.sqldb.SQLDatabaseAPI',
    '  parameters:',
    `    db_connection: ${sqlite('auth.db')}`,
    '    create_tables: yes',
    `    secret: ${yamlString(crypto.randomUUID())}`,
    '    token_ttl_secs: 3600',
    'taxii1:',
    '  save_raw_inbox_messages: yes',
    '  xml_parser_supports_huge_tree: yes',
    `  count_blocks_in_poll_responses: ${opts.countBlocks === true ? 'yes' : 'no'}`,
    '  unauthorized_status: UNAUTHORIZED',
    '  hooks:',
    '  persistence_api:',
    '    class: opentaxii.persistence.sqldb.SQLDatabaseAPI',
    '    parameters:',
    `      db_connection: ${sqlite('taxii1.db')}`,
    '      create_tables: yes',
    ...taxii2,
    'logging:',
    '  opentaxii: info',
    '  root: info',
    '',
  ].join('\n');
}

/** The data the launcher syncs in: TAXII 1.x services and collections, the account, TAXII 2.1 collection titles. */
function openTaxiiData(opts: OpenTaxiiOptions, { user, password }: Account): string {
  const binding = '[urn:taxii.mitre.org:protocol:http:1.0]';
  const feeds = opts.feeds ?? [{ name: 'feed-a' }];
  return [
    'services:',
    '  - {id: discovery, type: discovery, address: /services/discovery, description: discovery,',
    `     advertised_services: [inbox, collection-management, poll], protocol_bindings: ${binding}}`,
    '  - {id: inbox, type: inbox, address: /services/inbox, description: inbox, destination_collection_required: yes,',
    `     accept_all_content: yes, authentication_required: yes, protocol_bindings: ${binding}}`,
    '  - {id: collection-management, type: collection_management, address: /services/collection-management, description: collections,',
    `     authentication_required: yes, protocol_bindings: ${binding}}`,
    '  - {id: poll, type: poll, address: /services/poll, description: poll, subscription_required: no, authentication_required: yes,',
    `     max_result_size: ${opts.pollPartSize ?? 100}, max_result_count: ${opts.pollMaxCount ?? 10_000}, protocol_bindings: ${binding}}`,
    'collections:',
    ...feeds.map(
      (f) =>
        `  - {name: ${yamlString(f.name)}, available: true, accept_all_content: true, type: ${f.type ?? 'DATA_FEED'}, service_ids: [inbox, collection-management, poll]}`,
    ),
    'accounts:',
    `  - {username: ${yamlString(user)}, password: ${yamlString(password)}, is_admin: true}`,
    `taxii2_collections: ${JSON.stringify(opts.taxii2Collections ?? ['upstream'])}`,
    '',
  ].join('\n');
}

export async function startOpenTaxii(opts: OpenTaxiiOptions = {}): Promise<OpenTaxii> {
  const dir = mkdtempSync(join(tmpdir(), 'taxiway-opentaxii-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const acct = account(opts);
  writeFileSync(join(dir, 'opentaxii.yml'), openTaxiiConfig(opts, dir, port));
  writeFileSync(join(dir, 'data.yml'), openTaxiiData(opts, acct));
  writeFileSync(join(dir, 'launch.py'), OPENTAXII_LAUNCHER);
  const server = await startIn(dir, {
    name: 'OpenTAXII',
    argv: [join(dir, 'launch.py'), dir, String(port)],
    env: { OPENTAXII_CONFIG: join(dir, 'opentaxii.yml') },
    readyUrl: `${base}/services/discovery`,
    timeoutMs: opts.startTimeoutMs ?? 60_000,
  });
  const controls = processControls(server, dir, port, acct);
  const taxii1 = {
    discovery: `${base}/services/discovery`,
    collectionManagement: `${base}/services/collection-management`,
    inbox: `${base}/services/inbox`,
    poll: `${base}/services/poll`,
  };
  if ((opts.taxii2Collections ?? ['upstream']).length === 0) return { ...controls, taxii1 };
  const ids = JSON.parse(readFileSync(join(dir, 'taxii2.json'), 'utf8')) as { api_root: string; collections: Record<string, string> };
  const apiRootUrl = `${base}/taxii2/${ids.api_root}/`;
  return {
    ...controls,
    taxii1,
    taxii2: {
      discoveryUrl: `${base}/taxii2/`,
      apiRootUrl,
      collections: ids.collections,
      collectionUrl: (title) => {
        const id = ids.collections[title];
        if (id === undefined) throw new Error(`OpenTAXII has no TAXII 2.1 collection titled ${title}`);
        return `${apiRootUrl}collections/${id}/`;
      },
    },
  };
}
