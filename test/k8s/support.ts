import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import type { DataSource } from 'typeorm';
import { Database, SqlCatalogStore } from '@taxiway/store';
import { startKubeControlPlane, type KubeControlPlane } from '@taxiway/testing';
import { describeError, Kube } from '../../apps/operator/src/kube';
import { Operator } from '../../apps/operator/src/operator';
import type { Resource } from '../../apps/operator/src/resources';

const run = promisify(execFile);
export const REPO = resolve(__dirname, '../..');

/** kubectl against the test control plane; stdin for `-f -`. */
export async function kubectl(cp: KubeControlPlane, args: readonly string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = execFile(`${cp.binDir}/kubectl`, ['--kubeconfig', cp.kubeconfigPath, ...args], { timeout: 60_000 }, (err, stdout, stderr) =>
      done({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr }),
    );
    if (stdin !== undefined) child.stdin?.end(stdin);
  });
}

/** `kubectl apply --server-side -f -`; throws with kubectl's message on failure. */
export async function apply(cp: KubeControlPlane, yaml: string): Promise<void> {
  const r = await kubectl(cp, ['apply', '--server-side', '--field-manager', 'test', '--force-conflicts', '-f', '-'], yaml);
  if (r.code !== 0) throw new Error(r.stderr || r.stdout);
}

export async function startCluster(): Promise<KubeControlPlane> {
  const cp = await startKubeControlPlane();
  const r = await kubectl(cp, ['apply', '--server-side', '-f', resolve(REPO, 'crds')]);
  if (r.code !== 0) {
    await cp.stop();
    throw new Error(r.stderr);
  }
  await kubectl(cp, [
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    'crd/apiroots.taxiway.io',
    'crd/collections.taxiway.io',
    'crd/principals.taxiway.io',
  ]);
  return cp;
}

export interface RunningOperator {
  readonly operator: Operator;
  readonly ds: DataSource;
  readonly url: string;
  readonly logs: string[];
  stop(): Promise<void>;
}

/** An operator in this process, against the control plane and the database at `databaseUrl`. */
export async function startOperator(
  cp: KubeControlPlane,
  databaseUrl: string,
  opts: { namespace?: string; identity?: string; resyncSeconds?: number; publicBaseUrl?: string } = {},
): Promise<RunningOperator> {
  const db = await Database.open({ url: databaseUrl, poolSize: 4 });
  const ds = db.dataSource;
  const logs: string[] = [];
  const operator = new Operator({
    kube: Kube.fromEnvironment(cp.kubeconfigPath),
    catalog: new SqlCatalogStore(db),
    namespace: opts.namespace,
    publicBaseUrl: opts.publicBaseUrl ?? 'https://taxii.example.test',
    resyncSeconds: opts.resyncSeconds ?? 300,
    identity: opts.identity ?? 'operator-test',
    lease: { namespace: 'default', name: 'taxiway-operator', durationSeconds: 3, retryMs: 300 },
    port: 0,
    ingress: { serviceName: 'taxiway-api', servicePort: 8080, className: 'nginx', tls: false },
    log: (msg, err) => logs.push(err === undefined ? msg : `${msg}: ${describeError(err)}`),
    onLostLeadership: () => logs.push('lost leadership'),
  });
  const url = await operator.start();
  return {
    operator,
    ds,
    url,
    logs,
    stop: async () => {
      await operator.stop();
      await db.close();
    },
  };
}

/** Polls until `check` returns a value that is not undefined (or throws the last failure). */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
}

/** The resource as the API server has it now. */
export async function getResource(cp: KubeControlPlane, kind: string, namespace: string, name: string): Promise<Resource | undefined> {
  const r = await kubectl(cp, ['get', kind, name, '-n', namespace, '-o', 'json']);
  return r.code === 0 ? (JSON.parse(r.stdout) as Resource) : undefined;
}

/** The Ready condition of a resource: `True/Reconciled`, `False/ApiRootNotFound`, … */
export async function readiness(cp: KubeControlPlane, kind: string, namespace: string, name: string): Promise<string | undefined> {
  const r = await getResource(cp, kind, namespace, name);
  const c = r?.status?.conditions?.find((x) => x.type === 'Ready');
  return c === undefined ? undefined : `${c.status}/${c.reason}`;
}

/** Waits until `ref` (`kind/namespace/name`) has the Ready condition `want` and returns it. */
export async function waitReady(cp: KubeControlPlane, ref: string, want = 'True/Reconciled', timeoutMs = 20_000): Promise<Resource> {
  const [kind = '', namespace = '', name = ''] = ref.split('/');
  await eventually(async () => ((await readiness(cp, kind, namespace, name)) === want ? true : undefined), timeoutMs, `${ref} to be ${want}`);
  const r = await getResource(cp, kind, namespace, name);
  if (r === undefined) throw new Error(`${ref} vanished`);
  return r;
}

export { run };
