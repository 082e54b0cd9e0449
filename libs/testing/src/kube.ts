import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './postgres';

/**
 * A real control plane for tests, envtest-style: etcd and kube-apiserver built from the Go module
 * proxy by scripts/kube-testenv.sh (KUBE_TESTENV_DIR names the directory). No controller-manager:
 * no garbage collection, namespaces never finish terminating, Deployments never roll out.
 */
export interface KubeControlPlane {
  /** https://127.0.0.1:port */
  readonly server: string;
  /** A system:masters bearer token. */
  readonly token: string;
  /** A kubeconfig file for this control plane (admin token, TLS verification off). */
  readonly kubeconfigPath: string;
  readonly binDir: string;
  /** Stops and starts kube-apiserver again on the same port and etcd (watches break). */
  restartApiServer(): Promise<void>;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 90_000;

/** The directory with kube-apiserver, etcd, kubectl and helm, or a clear error (never a skip). */
export function kubeTestenvDir(): string {
  const dir = process.env['KUBE_TESTENV_DIR'];
  if (dir === undefined || dir === '' || !existsSync(join(dir, 'kube-apiserver')) || !existsSync(join(dir, 'etcd')))
    throw new Error('KUBE_TESTENV_DIR must name the directory scripts/kube-testenv.sh prints (kube-apiserver, etcd, helm, kubectl); run scripts/test-all.sh');
  return dir;
}

function get(url: string, token?: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { rejectUnauthorized: false, headers: token === undefined ? {} : { authorization: `Bearer ${token}` }, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

async function waitFor(what: string, check: () => Promise<boolean>, proc: ChildProcess, log: string[]): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`${what} exited with ${proc.exitCode}:\n${log.slice(-30).join('')}`);
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} not ready after ${READY_TIMEOUT_MS / 1000}s:\n${log.slice(-30).join('')}`);
}

function start(bin: string, args: readonly string[], log: string[]): ChildProcess {
  const p = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (c: Buffer): void => {
    log.push(c.toString());
    if (log.length > 200) log.shift();
  };
  p.stdout?.on('data', keep);
  p.stderr?.on('data', keep);
  return p;
}

async function stopProcess(p: ChildProcess | undefined): Promise<void> {
  if (p === undefined || p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill('SIGTERM');
  const timer = setTimeout(() => p.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Starts etcd and kube-apiserver on free loopback ports in a temporary directory. */
export async function startKubeControlPlane(): Promise<KubeControlPlane> {
  const binDir = kubeTestenvDir();
  const dir = mkdtempSync(join(tmpdir(), 'taxiway-kube-'));
  const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const token = randomBytes(24).toString('hex');
  writeFileSync(join(dir, 'tokens.csv'), `${token},admin,admin-uid,"system:masters"\n`);
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
  writeFileSync(join(dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const etcdUrl = `http://127.0.0.1:${etcdPort}`;
  const server = `https://127.0.0.1:${apiPort}`;
  const etcdLog: string[] = [];
  const apiLog: string[] = [];
  const etcd = start(
    join(binDir, 'etcd'),
    [
      '--data-dir',
      join(dir, 'etcd'),
      '--listen-client-urls',
      etcdUrl,
      '--advertise-client-urls',
      etcdUrl,
      '--listen-peer-urls',
      `http://127.0.0.1:${peerPort}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${peerPort}`,
      '--initial-cluster',
      `default=http://127.0.0.1:${peerPort}`,
      '--unsafe-no-fsync',
      '--log-level',
      'warn',
    ],
    etcdLog,
  );
  const apiArgs = [
    '--etcd-servers',
    etcdUrl,
    '--bind-address',
    '127.0.0.1',
    '--advertise-address',
    '127.0.0.1',
    '--secure-port',
    String(apiPort),
    '--cert-dir',
    join(dir, 'certs'),
    '--service-cluster-ip-range',
    '10.0.0.0/24',
    '--service-account-issuer',
    server,
    '--service-account-key-file',
    join(dir, 'sa.pub'),
    '--service-account-signing-key-file',
    join(dir, 'sa.key'),
    '--token-auth-file',
    join(dir, 'tokens.csv'),
    '--authorization-mode',
    'RBAC',
    '--allow-privileged=true',
    '--disable-admission-plugins',
    'ServiceAccount',
    '--v',
    '0',
  ];
  let api: ChildProcess | undefined;
  const startApi = async (): Promise<void> => {
    api = start(join(binDir, 'kube-apiserver'), apiArgs, apiLog);
    const proc = api;
    await waitFor('kube-apiserver', async () => (await get(`${server}/readyz`, token)) === 200, proc, apiLog);
  };
  const stop = async (): Promise<void> => {
    await stopProcess(api);
    await stopProcess(etcd);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      'etcd',
      async () =>
        (await fetch(`${etcdUrl}/health`)
          .then((r) => r.status)
          .catch(() => 0)) === 200,
      etcd,
      etcdLog,
    );
    await startApi();
  } catch (e) {
    await stop();
    throw e;
  }
  const kubeconfigPath = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfigPath,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'test', cluster: { server, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'admin', user: { token } }],
      contexts: [{ name: 'test', context: { cluster: 'test', user: 'admin' } }],
      'current-context': 'test',
    }),
  );
  return {
    server,
    token,
    kubeconfigPath,
    binDir,
    async restartApiServer() {
      await stopProcess(api);
      await startApi();
    },
    stop,
  };
}
