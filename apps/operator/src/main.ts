#!/usr/bin/env node
import { hostname } from 'node:os';
import { Database, SqlCatalogStore } from '@taxiway/store';
import { describeError, Kube } from './kube';
import { Operator } from './operator';

/** The operator's settings, from the environment (see the README and the Helm chart). */
export interface OperatorEnv {
  readonly databaseUrl: string;
  readonly namespace: string | undefined;
  readonly leaseNamespace: string;
  readonly publicBaseUrl: string;
  readonly resyncSeconds: number;
  readonly port: number;
  readonly identity: string;
  readonly kubeconfig: string | undefined;
}

function num(env: NodeJS.ProcessEnv, name: string, dflt: number): number {
  const v = env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got ${JSON.stringify(v)}`);
  return n;
}

export function operatorEnv(env: NodeJS.ProcessEnv = process.env): OperatorEnv {
  const databaseUrl = env['DATABASE_URL'];
  if (databaseUrl === undefined || databaseUrl === '')
    throw new Error('DATABASE_URL is required: the operator applies resources to the PostgreSQL database the API serves from');
  const namespace = env['WATCH_NAMESPACE'] === undefined || env['WATCH_NAMESPACE'] === '' ? undefined : env['WATCH_NAMESPACE'];
  return {
    databaseUrl,
    namespace,
    leaseNamespace: env['POD_NAMESPACE'] ?? namespace ?? 'default',
    publicBaseUrl: env['PUBLIC_BASE_URL'] ?? 'http://localhost:8080',
    resyncSeconds: num(env, 'RESYNC_SECONDS', 300),
    port: num(env, 'OPERATOR_PORT', 8081),
    identity: env['POD_NAME'] ?? `${hostname()}-${process.pid}`,
    kubeconfig: env['KUBECONFIG'],
  };
}

const log = (msg: string, err?: unknown): void => {
  const line = { level: err === undefined ? 30 : 50, time: Date.now(), msg, ...(err !== undefined && { err: describeError(err) }) };
  process.stdout.write(`${JSON.stringify(line)}\n`);
};

async function main(): Promise<void> {
  const env = operatorEnv();
  const db = await Database.open({ url: env.databaseUrl, poolSize: 4 });
  const operator = new Operator({
    kube: Kube.fromEnvironment(env.kubeconfig),
    catalog: new SqlCatalogStore(db),
    namespace: env.namespace,
    publicBaseUrl: env.publicBaseUrl,
    resyncSeconds: env.resyncSeconds,
    identity: env.identity,
    lease: {
      namespace: env.leaseNamespace,
      name: 'taxiway-operator',
      durationSeconds: num(process.env, 'LEASE_DURATION_SECONDS', 15),
      retryMs: num(process.env, 'LEASE_RETRY_MS', 2000),
    },
    port: env.port,
    ingress: {
      serviceName: process.env['INGRESS_SERVICE_NAME'] ?? 'taxiway-api',
      servicePort: num(process.env, 'INGRESS_SERVICE_PORT', 8080),
      className: process.env['INGRESS_CLASS_NAME'] === undefined || process.env['INGRESS_CLASS_NAME'] === '' ? undefined : process.env['INGRESS_CLASS_NAME'],
      tls: process.env['INGRESS_TLS'] === 'true',
    },
    log,
    onLostLeadership: () => {
      log('lost leadership; exiting so that a fresh replica takes over');
      process.exit(1);
    },
  });
  const url = await operator.start();
  log(`operator ${env.identity} serving /metrics and /healthz on ${url}; watching ${env.namespace ?? 'all namespaces'}`);
  const shutdown = (signal: string): void => {
    log(`${signal}: shutting down`);
    operator
      .stop()
      .then(() => db.close())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          log('shutdown failed', err);
          process.exit(1);
        },
      );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

if (require.main === module) {
  main().catch((err: unknown) => {
    log('operator failed to start', err);
    process.exit(1);
  });
}
