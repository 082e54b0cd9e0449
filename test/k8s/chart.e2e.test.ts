import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { KubeControlPlane } from '@taxiway/testing';
import { kubectl, REPO, startCluster } from './support';

// Depth: chart (helm lint/template, then the rendered manifests against a real kube-apiserver).
const CHART = resolve(REPO, 'charts/taxiway');

interface Manifest {
  kind: string;
  apiVersion: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  spec?: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- rendered manifests of many kinds
  rules?: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
}

const VALUE_SETS: Record<string, string[]> = {
  default: ['--set', 'database.url=postgres://taxiway:pw@db:5432/taxiway'],
  ha: [
    '--set',
    'database.existingSecret=pg-credentials',
    '--set',
    'api.autoscaling.enabled=true',
    '--set',
    'ingress.enabled=true',
    '--set',
    'ingress.className=nginx',
    '--set',
    'ingress.hosts[0].host=taxii.example.com',
    '--set',
    'ingress.tls[0].secretName=taxii-tls',
    '--set',
    'ingress.tls[0].hosts[0]=taxii.example.com',
    '--set',
    'networkPolicy.enabled=true',
    '--set',
    'serviceMonitor.enabled=true',
    '--set',
    'prometheusRule.enabled=true',
    '--api-versions',
    'monitoring.coreos.com/v1',
  ],
  proxied: [
    '--set',
    'database.url=postgres://x@db/taxiway',
    '--set',
    'api.metricsPort=0',
    '--set',
    'api.metricsToken.existingSecret=metrics-token',
    '--set',
    'api.trustedProxies={10.0.0.0/8,fd00::/8}',
    '--set',
    'serviceMonitor.enabled=true',
    '--api-versions',
    'monitoring.coreos.com/v1',
  ],
  namespaced: [
    '--set',
    'database.url=postgres://x@db/taxiway',
    '--set',
    'operator.watchNamespace=tenants',
    '--set',
    'crds.enabled=false',
    '--set',
    'migrations.job=false',
  ],
};

function helm(cp: KubeControlPlane, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) =>
    execFile(`${cp.binDir}/helm`, args, { timeout: 60_000, maxBuffer: 20 * 1024 * 1024 }, (err, stdout, stderr) =>
      done({ code: err === null ? 0 : 1, stdout, stderr }),
    ),
  );
}

describe('Helm chart charts/taxiway (issue 4)', () => {
  let cp: KubeControlPlane;
  const rendered: Record<string, Manifest[]> = {};

  beforeAll(async () => {
    cp = await startCluster();
    for (const [name, values] of Object.entries(VALUE_SETS)) {
      const r = await helm(cp, ['template', 't', CHART, '--namespace', 'taxiway', '--kube-version', '1.36.3', ...values]);
      if (r.code !== 0) throw new Error(`helm template (${name}): ${r.stderr}`);
      rendered[name] = parseAllDocuments(r.stdout)
        .map((d) => d.toJS() as Manifest | null)
        .filter((m): m is Manifest => m !== null);
    }
  }, 180_000);
  afterAll(async () => {
    await cp?.stop();
  });

  const find = (set: string, kind: string, name?: string) =>
    (rendered[set] ?? []).filter((m) => m.kind === kind && (name === undefined || m.metadata.name === name));

  it('passes helm lint --strict with every values set', async () => {
    for (const [name, values] of Object.entries(VALUE_SETS)) {
      const r = await helm(cp, ['lint', '--strict', CHART, ...values.filter((v) => v !== '--api-versions' && v !== 'monitoring.coreos.com/v1')]);
      expect(r.code, `${name}: ${r.stdout}${r.stderr}`).toBe(0);
    }
  });

  it('ships the very CRDs of crds/, kept on uninstall unless told otherwise', () => {
    for (const f of readdirSync(resolve(REPO, 'crds'))) {
      expect(readFileSync(resolve(CHART, 'files/crds', f), 'utf8'), f).toBe(readFileSync(resolve(REPO, 'crds', f), 'utf8'));
    }
    const crds = find('default', 'CustomResourceDefinition');
    expect(crds.map((c) => c.metadata.name).sort()).toEqual(['apiroots.taxiway.io', 'collections.taxiway.io', 'principals.taxiway.io']);
    expect(crds.every((c) => c.metadata.annotations?.['helm.sh/resource-policy'] === 'keep')).toBe(true);
    expect(find('namespaced', 'CustomResourceDefinition')).toEqual([]);
  });

  it('runs the API non-root on a read-only root filesystem with probes, and migrations as a pre-install/pre-upgrade hook', () => {
    const [api] = find('default', 'Deployment', 't-taxiway-api');
    const pod = api?.spec?.['template'].spec;
    const c = pod.containers[0];
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect([c.livenessProbe.httpGet.path, c.readinessProbe.httpGet.path, c.startupProbe.httpGet.path]).toEqual(['/healthz', '/readyz', '/healthz']);
    expect(c.resources.requests).toBeDefined();
    expect(c.env).toEqual(expect.arrayContaining([{ name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 't-taxiway-database', key: 'DATABASE_URL' } } }]));
    const [job] = find('default', 'Job');
    expect(job?.metadata.annotations?.['helm.sh/hook']).toBe('pre-install,pre-upgrade');
    expect(job?.spec?.['template'].spec.containers[0].command).toEqual(['node', 'apps/cli/dist/main.js', 'migrate']);
    const [secret] = find('default', 'Secret');
    expect(Number(secret?.metadata.annotations?.['helm.sh/hook-weight'])).toBeLessThan(Number(job?.metadata.annotations?.['helm.sh/hook-weight']));
    expect(find('default', 'PodDisruptionBudget')).toHaveLength(1);
  });

  it('renders HPA, Ingress, NetworkPolicy and ServiceMonitor when asked, with an existing database Secret', () => {
    expect(find('ha', 'HorizontalPodAutoscaler')).toHaveLength(1);
    expect(find('ha', 'Deployment', 't-taxiway-api')[0]?.spec?.['replicas']).toBeUndefined();
    expect(find('ha', 'Ingress')[0]?.spec?.['rules'][0].host).toBe('taxii.example.com');
    expect(find('ha', 'NetworkPolicy')).toHaveLength(2);
    expect(find('ha', 'ServiceMonitor')[0]?.spec?.['endpoints'][0].port).toBe('metrics');
    expect(find('ha', 'PrometheusRule')[0]?.spec?.['groups'][0].rules.map((r: { alert: string }) => r.alert)).toEqual([
      'TaxiwayHighErrorRatio',
      'TaxiwayHighLatency',
      'TaxiwayConsumerSilent',
      'TaxiwayIngestFailures',
      'TaxiwayDatabaseSaturated',
      'TaxiwayPushBacklog',
      'TaxiwayPushGivenUp',
    ]);
    const [dash] = find('default', 'ConfigMap', 't-taxiway-dashboard') as unknown as {
      metadata: { labels: Record<string, string> };
      data: Record<string, string>;
    }[];
    expect(dash?.metadata.labels['grafana_dashboard']).toBe('1');
    expect(JSON.parse(dash?.data['taxiway.json'] ?? '{}')).toMatchObject({ uid: 'taxiway-sharing' });
    expect(find('ha', 'Secret')).toEqual([]);
  });

  it('gives the operator least privilege: a ClusterRole cluster-wide, a Role in the watched namespace, its Lease only', () => {
    const [cluster] = find('default', 'ClusterRole');
    expect(cluster?.rules?.find((r) => r.resources.includes('secrets'))?.verbs).toEqual(['get', 'list', 'watch']);
    expect(cluster?.rules?.some((r) => r.verbs.includes('*') || r.resources.includes('*'))).toBe(false);
    expect(find('namespaced', 'ClusterRole')).toEqual([]);
    expect(find('namespaced', 'Role').map((r) => `${r.metadata.name}@${r.metadata.namespace ?? '?'}`)).toEqual([
      't-taxiway-operator@tenants',
      't-taxiway-operator-leader@taxiway',
    ]);
  });

  it('trusts forwarding headers only from api.trustedProxies, and scrapes the TAXII port only with the metrics token (issue 11)', () => {
    const env = (set: string) => find(set, 'Deployment', 't-taxiway-api')[0]?.spec?.['template'].spec.containers[0].env as { name: string }[];
    expect(env('default').map((e) => e.name)).not.toContain('TRUSTED_PROXIES');
    expect(env('proxied')).toEqual(
      expect.arrayContaining([
        { name: 'TRUSTED_PROXIES', value: '10.0.0.0/8,fd00::/8' },
        { name: 'METRICS_PORT', value: '0' },
        { name: 'METRICS_TOKEN', valueFrom: { secretKeyRef: { name: 'metrics-token', key: 'METRICS_TOKEN' } } },
      ]),
    );
    expect(find('proxied', 'ServiceMonitor')[0]?.spec?.['endpoints'][0]).toMatchObject({
      port: 'http',
      authorization: { type: 'Bearer', credentials: { name: 'metrics-token', key: 'METRICS_TOKEN' } },
    });
  });

  it('refuses values the schema does not allow, and a release without a database', async () => {
    for (const bad of [
      ['--set', 'api.replicas=0'],
      ['--set', 'service.type=Bogus'],
      ['--set', 'unknownKey=1'],
      ['--set', 'publicBaseUrl=ftp://x'],
    ]) {
      const r = await helm(cp, ['template', 't', CHART, ...VALUE_SETS['default']!, ...bad]);
      expect(r.code, bad.join(' ')).not.toBe(0);
      expect(r.stderr).toMatch(/values don't meet the specifications of the schema|schema/i);
    }
    const none = await helm(cp, ['template', 't', CHART]);
    expect(none.stderr).toMatch(/set database.url or database.existingSecret/);
    const anonymousMetrics = await helm(cp, ['template', 't', CHART, ...VALUE_SETS['default']!, '--set', 'api.metricsPort=0']);
    expect(anonymousMetrics.stderr).toMatch(/needs api.metricsToken.existingSecret/);
    const badProxy = await helm(cp, ['template', 't', CHART, ...VALUE_SETS['default']!, '--set', 'api.trustedProxies={proxy.local}']);
    expect(badProxy.stderr).toMatch(/schema/i);
  });

  it('is accepted by the real API server (server-side dry run, strict validation) for every values set', async () => {
    await kubectl(cp, ['create', 'namespace', 'taxiway']);
    await kubectl(cp, ['create', 'namespace', 'tenants']);
    // The prometheus-operator CRDs, so that the ServiceMonitor and PrometheusRule can be validated too.
    for (const [kind, plural] of <[string, string][]>[
      ['ServiceMonitor', 'servicemonitors'],
      ['PrometheusRule', 'prometheusrules'],
    ]) {
      const crd = await kubectl(
        cp,
        ['apply', '--server-side', '-f', '-'],
        `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: ${plural}.monitoring.coreos.com }
spec:
  group: monitoring.coreos.com
  scope: Namespaced
  names: { kind: ${kind}, plural: ${plural}, singular: ${kind.toLowerCase()}, listKind: ${kind}List }
  versions: [{ name: v1, served: true, storage: true, schema: { openAPIV3Schema: { type: object, x-kubernetes-preserve-unknown-fields: true } } }]
`,
      );
      expect(crd.code, crd.stderr).toBe(0);
      await kubectl(cp, ['wait', '--for=condition=Established', `crd/${plural}.monitoring.coreos.com`, '--timeout=30s']);
    }
    for (const [name, values] of Object.entries(VALUE_SETS)) {
      const r = await helm(cp, ['template', 't', CHART, '--namespace', 'taxiway', ...values]);
      const out = await kubectl(cp, ['apply', '--server-side', '--dry-run=server', '--validate=strict', '-f', '-'], r.stdout);
      expect(out.code, `${name}: ${out.stderr}`).toBe(0);
      expect(out.stdout).toMatch(/deployment.apps\/t-taxiway-api serverside-applied \(server dry run\)/);
    }
  });

  it("grants the operator's ServiceAccount what the operator does, and no more", async () => {
    const r = await helm(cp, ['template', 't', CHART, '--namespace', 'taxiway', ...VALUE_SETS['default']!, '--show-only', 'templates/operator-rbac.yaml']);
    const applied = await kubectl(cp, ['apply', '--server-side', '-f', '-'], r.stdout);
    expect(applied.code, applied.stderr).toBe(0);
    const can = async (verb: string, resource: string, ns = 'tenants') =>
      (await kubectl(cp, ['auth', 'can-i', verb, resource, '-n', ns, '--as', 'system:serviceaccount:taxiway:t-taxiway-operator'])).stdout.trim();
    expect(await can('patch', 'apiroots.taxiway.io/status')).toBe('yes');
    expect(await can('watch', 'principals.taxiway.io')).toBe('yes');
    expect(await can('list', 'secrets')).toBe('yes');
    expect(await can('create', 'ingresses.networking.k8s.io')).toBe('yes');
    expect(await can('create', 'events')).toBe('yes');
    expect(await can('update', 'leases.coordination.k8s.io/taxiway-operator', 'taxiway')).toBe('yes');
    expect(await can('delete', 'secrets')).toBe('no');
    expect(await can('create', 'pods')).toBe('no');
    expect(await can('delete', 'apiroots.taxiway.io')).toBe('no');
    expect(await can('update', 'leases.coordination.k8s.io/someone-else', 'taxiway')).toBe('no');
  });
});
