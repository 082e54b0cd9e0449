import { parseArgs } from 'node:util';
import { hash } from '@node-rs/argon2';
import { AccessIndex, generateApiKey, issueApiKey } from '@taxiway/auth';
import { DomainError, isDomainError, type AuditAction, type CatalogStore, type CollectionInfo, type PrincipalInfo, type Taxii1Store } from '@taxiway/domain';
import type { SqlAdminStore, SqlAuditLog } from '@taxiway/store';

export interface Io {
  out(line: string): void;
  err(line: string): void;
  env: Readonly<Record<string, string | undefined>>;
}

export const USAGE = `usage: taxiway <command> [options]

  principal create <name> [--display-name TEXT] [--password-from-env VAR]
                                     create a principal managed by the CLI (config files do not prune it)
  key issue --principal <name> [--name LABEL] [--expires-in 90d|12h|30m]
                                     issue an API key; it is printed once and stored only as a hash
  key generate                       print a new key without storing it, for Principal.spec.apiKeys (keyFrom a Secret)
  key revoke <key-id>                revoke a key (every API replica stops accepting it within seconds)
  key list [--principal <name>]      list keys (ids, owners, expiry, revocation; never the secret)
  grants <principal>                 what the principal may do on every API root and collection it can see, and
                                     which grant decides it (own or group role, own or group override)
  audit <api-root> [--limit N] [--principal P] [--action add|read|delete] [--since 24h|<ISO time>]
                                     the newest audit entries of an API root (writes and reads)
  subscriptions <api-root>           TAXII 1.x subscriptions of an API root: owner, status, push address,
                                     deliveries pending and given up, blocks delivered, the last delivery error
  push retry <subscription-id>       queue a subscription's given-up push deliveries again (in order, at once)
  migrate                            apply pending database migrations

The database is DATABASE_URL (or the embedded PGlite in TAXIWAY_DATA_DIR while the server is stopped).`;

const DURATION = /^(\d+)([dhm])$/;
const UNIT_MS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000 };

/** A usage error: exit code 2. */
function usage(message: string): DomainError {
  return new DomainError('BadRequest', message);
}

/** `90d`, `12h`, `30m` in milliseconds; undefined if `text` is not such a duration. */
function durationMs(text: string): number | undefined {
  const m = DURATION.exec(text);
  return m === null ? undefined : Number(m[1]) * (UNIT_MS[m[2] ?? 'd'] ?? 0);
}

function parseDuration(text: string): number {
  const ms = durationMs(text);
  if (ms === undefined) throw usage(`--expires-in takes a number with d, h or m (e.g. 90d), not ${text}`);
  return ms;
}

function need(value: string | undefined, what: string): string {
  if (value === undefined || value === '') throw new DomainError('BadRequest', `missing ${what}\n\n${USAGE}`);
  return value;
}

/** What the commands work on. */
export interface Stores {
  readonly admin: SqlAdminStore;
  readonly catalog: CatalogStore;
  readonly audit: Pick<SqlAuditLog, 'query'>;
  readonly taxii1: Pick<Taxii1Store, 'subscriptionReport' | 'retryFailed'>;
}

function positiveInt(v: string, what: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw usage(`${what} takes a positive integer`);
  return n;
}

const ACTIONS: readonly AuditAction[] = ['add', 'read', 'delete'];
function auditAction(v: string | undefined): AuditAction | undefined {
  if (v === undefined) return undefined;
  const a = ACTIONS.find((x) => x === v);
  if (a === undefined) throw usage(`--action takes one of ${ACTIONS.join(', ')}`);
  return a;
}

/** `--since`: a duration back from now (30m, 24h, 7d) or an ISO 8601 time. */
function sinceDate(v: string, nowMs = Date.now()): Date {
  const ms = durationMs(v);
  if (ms !== undefined) return new Date(nowMs - ms);
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw usage('--since takes a duration (30m, 24h, 7d) or an ISO 8601 time');
  return new Date(t);
}

type Handler = (args: string[], io: Io, stores: Stores) => Promise<void>;

const HANDLERS: Record<string, Handler> = {
  'principal create': async (args, io, { admin }) => {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { 'display-name': { type: 'string' }, 'password-from-env': { type: 'string' } },
    });
    const name = need(positionals[0], 'principal name');
    const envName = values['password-from-env'];
    const password = envName === undefined ? undefined : need(io.env[envName], `environment variable ${envName}`);
    await admin.createPrincipal(name, {
      ...(values['display-name'] !== undefined && { displayName: values['display-name'] }),
      ...(password !== undefined && { passwordHash: await hash(password) }),
    });
    io.out(`principal ${name} created`);
  },
  'key generate': (_args, io) => {
    const { id, key } = generateApiKey();
    io.out(key);
    io.err(`key ${id} generated and NOT stored: put it in a Secret and reference it from Principal.spec.apiKeys[].keyFrom`);
    return Promise.resolve();
  },
  'key issue': async (args, io, { admin }) => {
    const { values } = parseArgs({ args, options: { principal: { type: 'string' }, name: { type: 'string' }, 'expires-in': { type: 'string' } } });
    const principal = need(values.principal, '--principal');
    const expiresIn = values['expires-in'];
    const expiresAt = expiresIn === undefined ? undefined : new Date(Date.now() + parseDuration(expiresIn));
    const key = await issueApiKey();
    await admin.insertApiKey({
      id: key.id,
      principal,
      secretHash: key.secretHash,
      ...(values.name !== undefined && { name: values.name }),
      ...(expiresAt !== undefined && { expiresAt }),
    });
    io.out(key.key);
    io.err(`key ${key.id} issued to ${principal}${expiresAt === undefined ? '' : `, expires ${expiresAt.toISOString()}`}; it is shown only this once`);
  },
  'key revoke': async (args, io, { admin }) => {
    const id = need(args[0], 'key id');
    if (!(await admin.revokeApiKey(id))) throw new DomainError('NotFound', `no live key with id ${id}`);
    io.out(`key ${id} revoked`);
  },
  'key list': async (args, io, { admin }) => {
    const { values } = parseArgs({ args, options: { principal: { type: 'string' } } });
    io.out(['id', 'principal', 'name', 'created', 'expires', 'revoked'].join('\t'));
    for (const k of await admin.listApiKeys(values.principal)) {
      io.out([k.id, k.principal, k.name ?? '-', k.createdAt.toISOString(), k.expiresAt?.toISOString() ?? '-', k.revokedAt?.toISOString() ?? '-'].join('\t'));
    }
  },
  audit: async (args, io, { audit }) => {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { limit: { type: 'string' }, principal: { type: 'string' }, action: { type: 'string' }, since: { type: 'string' } },
    });
    const root = need(positionals[0], 'API root path');
    const rows = await audit.query(root, {
      limit: positiveInt(values.limit ?? '100', '--limit'),
      principal: values.principal,
      action: auditAction(values.action),
      since: values.since === undefined ? undefined : sinceDate(values.since),
    });
    io.out(['at', 'principal', 'action', 'collection', 'endpoint', 'objects', 'status', 'detail'].join('\t'));
    for (const a of rows) {
      io.out(
        [a.at.toISOString(), a.principal, a.action, a.collection ?? '-', a.endpoint, String(a.objectCount), a.statusId ?? '-', a.detail ?? '-'].join('\t'),
      );
    }
  },
  subscriptions: async (args, io, { taxii1 }) => {
    const root = need(args[0], 'API root path');
    io.out(
      ['id', 'collection', 'principal', 'version', 'status', 'response', 'push-address', 'pending', 'failed', 'delivered-blocks', 'last-error'].join('\t'),
    );
    for (const r of await taxii1.subscriptionReport(root)) {
      io.out(
        [
          r.id,
          r.collection,
          r.principal,
          r.version,
          r.status,
          r.responseType,
          r.pushAddress ?? '(poll)',
          String(r.pending),
          String(r.failed),
          String(r.deliveredBlocks),
          r.lastError ?? '-',
        ].join('\t'),
      );
    }
  },
  'push retry': async (args, io, { taxii1 }) => {
    const id = need(args[0], 'subscription id');
    const n = await taxii1.retryFailed(id);
    io.out(`${n} given-up deliver${n === 1 ? 'y' : 'ies'} of ${id} queued again`);
  },
  grants: async (args, io, { catalog }) => {
    const name = need(args[0], 'principal name');
    const snapshot = await catalog.loadCatalog();
    const index = new AccessIndex(snapshot);
    const principal = index.byName(name);
    if (principal === undefined) throw new DomainError('NotFound', `no principal named ${name}`);
    io.out(['api-root', 'collection', 'role', 'read', 'write', 'delete', 'why'].join('\t'));
    for (const line of grantLines(index, principal, snapshot.collections)) io.out(line.join('\t'));
  },
};

/**
 * What the access index (the same one the server enforces) says the principal may do: one line per
 * visible API root (its role, `*` as the collection), then one per visible collection with each
 * operation and the grant that decided read and write.
 */
function grantLines(index: AccessIndex, principal: PrincipalInfo, collections: readonly CollectionInfo[]): string[][] {
  const lines: string[][] = [];
  for (const root of index.visibleRoots(principal)) {
    const see = index.authorize(principal, { kind: 'root', root }, 'see');
    lines.push([root.path, '*', index.roleOn(root, principal) ?? '-', '-', '-', '-', see.reason]);
    for (const collection of collections.filter((c) => c.apiRootPk === root.pk)) {
      const target = { kind: 'collection' as const, collection };
      const [read, write, del] = (['read', 'write', 'delete'] as const).map((op) => index.authorize(principal, target, op));
      if (read === undefined || write === undefined || del === undefined || !read.visible) continue;
      lines.push([root.path, collection.name, '-', String(read.allowed), String(write.allowed), String(del.allowed), `${read.reason}; ${write.reason}`]);
    }
  }
  return lines;
}

/** The handler for argv and the arguments left for it, or undefined. */
export function route(argv: readonly string[]): { handler: Handler; args: string[] } | undefined {
  const two = `${argv[0] ?? ''} ${argv[1] ?? ''}`;
  const twoWord = HANDLERS[two];
  if (twoWord !== undefined) return { handler: twoWord, args: argv.slice(2) };
  const one = HANDLERS[argv[0] ?? ''];
  return one === undefined ? undefined : { handler: one, args: argv.slice(1) };
}

/** Runs one command; returns the process exit code (0 ok, 1 failed, 2 usage). */
export async function runCommand(argv: readonly string[], io: Io, stores: Stores): Promise<number> {
  const r = route(argv);
  if (r === undefined) {
    io.err(USAGE);
    return 2;
  }
  try {
    await r.handler(r.args, io, stores);
    return 0;
  } catch (e) {
    io.err(`taxiway: ${isDomainError(e) || e instanceof Error ? e.message : String(e)}`);
    return isDomainError(e) && e.code === 'BadRequest' ? 2 : 1;
  }
}
