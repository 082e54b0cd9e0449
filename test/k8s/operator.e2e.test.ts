import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiKey } from '@taxiway/auth';
import type { KubeControlPlane } from '@taxiway/testing';
import { basic, client, startServer, type RunningServer } from '../support/server';
import { apply, eventually, getResource, kubectl, readiness, REPO, startCluster, startOperator, waitReady, type RunningOperator } from './support';

// Depth: cluster e2e (a real kube-apiserver + etcd, a real PostgreSQL, the real API server).
const EMPTY = { apiRoots: [], collections: [], principals: [] };
const b64 = (s: string) => Buffer.from(s).toString('base64');

/** A namespace with a trust group: an ApiRoot, a Collection, a Principal whose password is in a Secret. */
function tenantYaml(
  ns: string,
  root: string,
  opts: { title?: string; role?: string; collectionPolicy?: string; rootPolicy?: string; hostnames?: string } = {},
): string {
  return `
apiVersion: v1
kind: Namespace
metadata: { name: ${ns} }
---
apiVersion: v1
kind: Secret
metadata: { name: ${root}-member, namespace: ${ns} }
data: { password: ${b64(`${root}-pw`)} }
---
apiVersion: taxiway.io/v1alpha1
kind: Principal
metadata: { name: ${root}-member, namespace: ${ns} }
spec: { passwordSecretRef: { name: ${root}-member } }
---
apiVersion: taxiway.io/v1alpha1
kind: ApiRoot
metadata: { name: ${root}, namespace: ${ns} }
spec:
  title: ${opts.title ?? 'Trust group'}
  deletionPolicy: ${opts.rootPolicy ?? 'Retain'}${opts.hostnames === undefined ? '' : `\n  hostnames: ${opts.hostnames}`}
  grants: ${opts.role === undefined ? `[{ principal: ${root}-member, role: write }]` : opts.role}
---
apiVersion: taxiway.io/v1alpha1
kind: Collection
metadata: { name: iocs, namespace: ${ns} }
spec: { apiRoot: ${root}, alias: iocs, title: IOCs, deletionPolicy: ${opts.collectionPolicy ?? 'Delete'} }
`;
}

const indicator = (n: number) => ({
  type: 'indicator',
  spec_version: '2.1',
  id: `indicator--${String(n).padStart(8, '0')}-0000-4000-8000-000000000000`,
  created: '2024-01-01T00:00:00.000Z',
  modified: '2024-01-01T00:00:00.000Z',
  pattern: "[ipv4-addr:value = '192.0.2.1']",
  pattern_type: 'stix',
  valid_from: '2024-01-01T00:00:00Z',
});

describe('operator against a real kube-apiserver, PostgreSQL and the API (issue 4)', () => {
  let cp: KubeControlPlane;
  let api: RunningServer;
  let op: RunningOperator;

  beforeAll(async () => {
    cp = await startCluster();
    api = await startServer(EMPTY);
    op = await startOperator(cp, api.server.database.url, { resyncSeconds: 2 });
  }, 180_000);
  afterAll(async () => {
    await op?.stop();
    await api?.close();
    await cp?.stop();
  });

  const member = (root: string) => client(api.url, basic(`${root}-member`, `${root}-pw`));

  it('adds its finalizer, sets Ready with observedGeneration, url and id, and the API serves the new root within 2 seconds', async () => {
    await apply(cp, tenantYaml('t-create', 'alpha'));
    const root = await waitReady(cp, 'apiroot/t-create/alpha');
    const readyAt = Date.now();
    expect(root.metadata.finalizers).toContain('taxiway.io/finalizer');
    expect(root.status?.observedGeneration).toBe(root.metadata.generation);
    expect(root.status?.url).toBe('https://taxii.example.test/alpha/');
    expect(root.status?.conditions?.map((c) => `${c.type}=${c.status}`)).toEqual(['Ready=True', 'Reconciled=True', 'Accepted=True']);
    const coll = await waitReady(cp, 'collection/t-create/iocs');
    expect(coll.status?.id).toMatch(/^[0-9a-f-]{36}$/);
    const listed = await eventually(async () => {
      const r = await member('alpha').get('/alpha/collections/');
      return r.status === 200 ? r : undefined;
    }, 2000);
    expect(Date.now() - readyAt).toBeLessThan(2000);
    expect(listed.json['collections']).toEqual([expect.objectContaining({ id: coll.status?.id, alias: 'iocs', can_read: true, can_write: true })]);
    const out = await kubectl(cp, ['get', 'apiroots,collections', '-n', 't-create']);
    expect(out.stdout).toMatch(/alpha\s+True\s+Reconciled\s+https:\/\/taxii\.example\.test\/alpha\//);
  });

  it('applies a spec change and takes access away when a grant is removed', async () => {
    await apply(cp, tenantYaml('t-change', 'bravo'));
    await waitReady(cp, 'apiroot/t-change/bravo');
    await eventually(async () => ((await member('bravo').get('/bravo/')).status === 200 ? true : undefined), 5000);
    await apply(cp, tenantYaml('t-change', 'bravo', { title: 'Renamed group' }));
    await eventually(async () => ((await member('bravo').get('/bravo/')).json['title'] === 'Renamed group' ? true : undefined), 5000, 'the new title');
    await apply(cp, tenantYaml('t-change', 'bravo', { role: '[]' }));
    await eventually(async () => ((await member('bravo').get('/bravo/')).status === 404 ? true : undefined), 5000, 'access to go');
  });

  it('deletes per deletionPolicy: Delete removes a collection and its objects, Retain hides a root and keeps its data', async () => {
    await apply(cp, tenantYaml('t-delete', 'charlie'));
    const coll = await waitReady(cp, 'collection/t-delete/iocs');
    await eventually(async () => ((await member('charlie').get('/charlie/')).status === 200 ? true : undefined), 5000);
    const post = await member('charlie').post(`/charlie/collections/${coll.status?.id ?? ''}/objects/`, { objects: [indicator(1)] });
    expect(post.status).toBe(202);
    const count = async () =>
      Number(
        (
          await op.ds.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM objects o JOIN collections c ON c.pk = o.collection_pk WHERE c.id = $1`, [
            coll.status?.id,
          ])
        )[0]?.n ?? -1,
      );
    expect(await count()).toBe(1);
    await kubectl(cp, ['delete', 'collection', 'iocs', '-n', 't-delete', '--wait=true', '--timeout=30s']);
    expect(await getResource(cp, 'collection', 't-delete', 'iocs')).toBeUndefined();
    expect(await count()).toBe(0);
    await kubectl(cp, ['delete', 'apiroot', 'charlie', '-n', 't-delete', '--wait=true', '--timeout=30s']);
    const deletedAt = Date.now();
    await eventually(async () => ((await member('charlie').get('/charlie/')).status === 404 ? true : undefined), 2000, 'the root to be hidden');
    expect(Date.now() - deletedAt).toBeLessThan(2000);
    const kept = await op.ds.query<{ retired_at: Date | null }[]>(`SELECT retired_at FROM api_roots WHERE name = 'charlie'`);
    expect(kept).toHaveLength(1);
    expect(kept[0]?.retired_at).not.toBeNull();
  });

  it('repairs drift in the database on resync', async () => {
    await apply(cp, tenantYaml('t-drift', 'delta'));
    await waitReady(cp, 'apiroot/t-drift/delta');
    await eventually(async () => ((await member('delta').get('/delta/')).status === 200 ? true : undefined), 5000);
    const grants = async () =>
      (
        await op.ds.query<{ n: number }[]>(`SELECT count(*)::int AS n FROM api_root_grants g JOIN api_roots r ON r.pk = g.api_root_pk WHERE r.name = 'delta'`)
      )[0]?.n;
    await op.ds.query(`DELETE FROM api_root_grants WHERE api_root_pk = (SELECT pk FROM api_roots WHERE name = 'delta')`);
    const removedAt = Date.now();
    await eventually(async () => ((await grants()) === 1 ? true : undefined), 10_000, 'the grant row to come back');
    expect(Date.now() - removedAt).toBeLessThan(10_000);
    await api.server.catalog.reload();
    expect((await member('delta').get('/delta/')).status).toBe(200);
  });

  it('marks a Collection without its ApiRoot and a Principal without its Secret not Ready, with a reason and an Event, and recovers', async () => {
    await apply(
      cp,
      `
apiVersion: v1
kind: Namespace
metadata: { name: t-refs }
---
apiVersion: taxiway.io/v1alpha1
kind: Collection
metadata: { name: orphan, namespace: t-refs }
spec: { apiRoot: echo }
---
apiVersion: taxiway.io/v1alpha1
kind: Principal
metadata: { name: echo-member, namespace: t-refs }
spec: { passwordSecretRef: { name: not-there } }
`,
    );
    await waitReady(cp, 'collection/t-refs/orphan', 'False/ApiRootNotFound');
    await waitReady(cp, 'principal/t-refs/echo-member', 'False/SecretNotFound');
    const events = await eventually(async () => {
      const r = await kubectl(cp, ['get', 'events', '-n', 't-refs', '-o', 'json']);
      const items = (JSON.parse(r.stdout) as { items: { reason: string }[] }).items.map((e) => e.reason);
      return items.includes('ApiRootNotFound') && items.includes('SecretNotFound') ? items : undefined;
    });
    expect(events).toEqual(expect.arrayContaining(['ApiRootNotFound', 'SecretNotFound']));
    await apply(
      cp,
      `
apiVersion: taxiway.io/v1alpha1
kind: ApiRoot
metadata: { name: echo, namespace: t-refs }
spec: { grants: [{ principal: echo-member, role: read }] }
---
apiVersion: v1
kind: Secret
metadata: { name: not-there, namespace: t-refs }
data: { password: ${b64('echo-pw')} }
`,
    );
    await waitReady(cp, 'collection/t-refs/orphan');
    await waitReady(cp, 'principal/t-refs/echo-member');
    await eventually(async () => ((await client(api.url, basic('echo-member', 'echo-pw')).get('/echo/collections/')).status === 200 ? true : undefined), 5000);
  });

  it("marks only the invalid one of two same-named Collections in different tenants' namespaces InvalidSpec; the other stays Ready and served", async () => {
    await apply(cp, tenantYaml('t-same-a', 'kilo'));
    await apply(cp, tenantYaml('t-same-b', 'lima'));
    await waitReady(cp, 'collection/t-same-a/iocs');
    const healthy = await waitReady(cp, 'collection/t-same-b/iocs');
    // Only t-same-a's `iocs` turns invalid: its grant names a principal nobody declared.
    await apply(
      cp,
      `
apiVersion: taxiway.io/v1alpha1
kind: Collection
metadata: { name: iocs, namespace: t-same-a }
spec: { apiRoot: kilo, alias: iocs, title: IOCs, deletionPolicy: Delete, grants: [{ principal: ghost, read: true }] }
`,
    );
    const invalid = await waitReady(cp, 'collection/t-same-a/iocs', 'False/InvalidSpec');
    const message = invalid.status?.conditions?.find((c) => c.type === 'Ready')?.message ?? '';
    expect(message).toContain('ghost');
    // Past a resync (2 s), the same-named Collection of the other tenant is still Ready and serves.
    await new Promise((r) => setTimeout(r, 2500));
    expect(await readiness(cp, 'collection', 't-same-b', 'iocs')).toBe('True/Reconciled');
    const listed = await member('lima').get('/lima/collections/');
    expect(listed.status).toBe(200);
    expect(listed.json['collections']).toEqual([expect.objectContaining({ id: healthy.status?.id, alias: 'iocs' })]);
    // Its message names this Collection only, never the other tenant's.
    expect(message).not.toContain('t-same-b');
  });

  it('refuses a second Collection claiming the same id (CollectionConflict) and accepts API keys from a Secret', async () => {
    const key = generateApiKey().key;
    await apply(
      cp,
      `
apiVersion: v1
kind: Namespace
metadata: { name: t-conflict }
---
apiVersion: v1
kind: Secret
metadata: { name: siem-key, namespace: t-conflict }
data: { key: ${b64(key)} }
---
apiVersion: taxiway.io/v1alpha1
kind: Principal
metadata: { name: siem, namespace: t-conflict }
spec: { apiKeys: [{ name: sentinel, secretRef: { name: siem-key } }] }
---
apiVersion: taxiway.io/v1alpha1
kind: ApiRoot
metadata: { name: foxtrot, namespace: t-conflict }
spec: { grants: [{ principal: siem, role: read }] }
---
apiVersion: taxiway.io/v1alpha1
kind: Collection
metadata: { name: first, namespace: t-conflict }
spec: { apiRoot: foxtrot, id: 7e4f0d7a-1111-4222-8333-444455556666 }
`,
    );
    await waitReady(cp, 'collection/t-conflict/first');
    await apply(
      cp,
      `
apiVersion: taxiway.io/v1alpha1
kind: Collection
metadata: { name: second, namespace: t-conflict }
spec: { apiRoot: foxtrot, id: 7e4f0d7a-1111-4222-8333-444455556666 }
`,
    );
    const second = await waitReady(cp, 'collection/t-conflict/second', 'False/CollectionConflict');
    expect(second.status?.conditions?.find((c) => c.type === 'Accepted')?.status).toBe('False');
    const r = await eventually(async () => {
      const res = await client(api.url, `Bearer ${key}`).get('/foxtrot/collections/');
      return res.status === 200 ? res : undefined;
    }, 5000);
    expect((r.json['collections'] as { id: string }[]).map((c) => c.id)).toEqual(['7e4f0d7a-1111-4222-8333-444455556666']);
  });

  it('owns an Ingress for spec.hostnames, follows changes to them, and removes it when they go', async () => {
    await apply(cp, tenantYaml('t-hosts', 'india'));
    await waitReady(cp, 'apiroot/t-hosts/india');
    const withHosts = (hosts: string | undefined) => tenantYaml('t-hosts', 'india', { ...(hosts !== undefined && { hostnames: hosts }) });
    await apply(cp, withHosts('[india.taxii.example.com]'));
    const ingress = async () => {
      const r = await kubectl(cp, ['get', 'ingress', 'taxiway-india', '-n', 't-hosts', '-o', 'json']);
      return r.code === 0
        ? (JSON.parse(r.stdout) as {
            metadata: { ownerReferences: { kind: string; name: string }[] };
            spec: { ingressClassName: string; rules: { host: string }[] };
          })
        : undefined;
    };
    const first = await eventually(ingress, 10_000, 'the Ingress');
    expect(first.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'ApiRoot', name: 'india', controller: true })]);
    expect(first.spec.ingressClassName).toBe('nginx');
    expect(first.spec.rules.map((x) => x.host)).toEqual(['india.taxii.example.com']);
    await apply(cp, withHosts('[india.taxii.example.com, india.example.org]'));
    await eventually(async () => ((await ingress())?.spec.rules.length === 2 ? true : undefined), 10_000, 'the second hostname');
    await apply(cp, withHosts(undefined));
    await eventually(async () => ((await ingress()) === undefined ? true : undefined), 10_000, 'the Ingress to go');
  });

  it('reconciles the README GitOps example (config/examples/gitops.yaml) to Ready, and the member reads through the API', async () => {
    await apply(cp, readFileSync(resolve(REPO, 'config/examples/gitops.yaml'), 'utf8'));
    for (const ref of [
      'principal/trust-groups/northwind',
      'apiroot/trust-groups/energy-isac',
      'collection/trust-groups/energy-indicators',
      'collection/trust-groups/energy-advisories',
    ])
      await waitReady(cp, ref);
    const out = await kubectl(cp, ['get', 'apiroots,collections', '-n', 'trust-groups']);
    expect(out.stdout).toMatch(/apiroot.taxiway.io\/energy-isac\s+True\s+Reconciled\s+https:\/\/taxii.example.test\/energy-isac\//);
    expect(out.stdout).toMatch(/collection.taxiway.io\/energy-indicators\s+True\s+Reconciled\s+energy-isac\s+9a1c2d3e-4f50-4a6b-8c7d-0e1f2a3b4c5d/);
    const r = await eventually(async () => {
      const res = await client(api.url, basic('northwind', 'change-me-northwind')).get('/energy-isac/collections/');
      return res.status === 200 ? res : undefined;
    }, 5000);
    expect((r.json['collections'] as { alias: string; can_write: boolean }[]).map((c) => `${c.alias}:${c.can_write}`)).toEqual([
      'indicators:true',
      'advisories:false',
    ]);
    expect((await kubectl(cp, ['get', 'ingress', 'taxiway-energy-isac', '-n', 'trust-groups'])).code).toBe(0);
  });

  it('has the API server reject invalid specs with the CRD rules (CEL, patterns, enums)', async () => {
    await kubectl(cp, ['create', 'namespace', 't-invalid']);
    const bad: [string, RegExp][] = [
      ['kind: Collection\nmetadata: { name: c1 }\nspec: { apiRoot: r, id: not-a-uuid }', /spec.id/],
      ['kind: Collection\nmetadata: { name: c2 }\nspec: { apiRoot: r, alias: 7e4f0d7a-1111-4222-8333-444455556666 }', /must not be a UUID/],
      ['kind: ApiRoot\nmetadata: { name: taxii2 }\nspec: {}', /reserved/],
      ['kind: ApiRoot\nmetadata: { name: r }\nspec: { grants: [{ principal: p, group: g, role: read }] }', /exactly one of principal or group/],
      ['kind: ApiRoot\nmetadata: { name: r2 }\nspec: { deletionPolicy: Sometimes }', /Unsupported value/],
      ['kind: Principal\nmetadata: { name: p1 }\nspec: { password: plain }', /unknown field|password/],
    ];
    for (const [doc, message] of bad) {
      const r = await kubectl(cp, ['apply', '--server-side', '-n', 't-invalid', '-f', '-'], `apiVersion: taxiway.io/v1alpha1\n${doc}\n`);
      expect(r.code, doc).not.toBe(0);
      expect(r.stderr, doc).toMatch(message);
    }
    await apply(
      cp,
      'apiVersion: taxiway.io/v1alpha1\nkind: Collection\nmetadata: { name: pinned, namespace: t-invalid }\nspec: { apiRoot: r, id: 7e4f0d7a-aaaa-4bbb-8ccc-444455556666 }\n',
    );
    const change = await kubectl(
      cp,
      ['apply', '--server-side', '--force-conflicts', '--field-manager', 'test', '-n', 't-invalid', '-f', '-'],
      'apiVersion: taxiway.io/v1alpha1\nkind: Collection\nmetadata: { name: pinned }\nspec: { apiRoot: other, id: 7e4f0d7a-aaaa-4bbb-8ccc-444455556667 }\n',
    );
    expect(change.stderr).toMatch(/immutable/);
  });

  it('keeps exactly one leader among two replicas and fails over when it stops', async () => {
    const url = api.server.database.url;
    const standby = await startOperator(cp, url, { identity: 'operator-standby', resyncSeconds: 2 });
    try {
      await new Promise((r) => setTimeout(r, 1500));
      expect([op.operator.isLeader, standby.operator.isLeader]).toEqual([true, false]);
      const lease = await kubectl(cp, ['get', 'lease', 'taxiway-operator', '-n', 'default', '-o', 'jsonpath={.spec.holderIdentity}']);
      expect(lease.stdout).toBe('operator-test');
      await op.stop();
      await eventually(() => Promise.resolve(standby.operator.isLeader ? true : undefined), 10_000, 'the standby to take over');
      await apply(cp, tenantYaml('t-failover', 'golf'));
      await waitReady(cp, 'apiroot/t-failover/golf');
      const m = await (await fetch(`${standby.url}/metrics`)).text();
      expect(m).toMatch(/taxiway_operator_leader 1/);
      expect(m).toMatch(/taxiway_operator_reconcile_total\{kind="ApiRoot",result="success"\} \d+/);
    } finally {
      op = standby;
    }
  });

  it('re-establishes its watches after the API server restarts', async () => {
    await cp.restartApiServer();
    await apply(cp, tenantYaml('t-rewatch', 'hotel'));
    await waitReady(cp, 'apiroot/t-rewatch/hotel', 'True/Reconciled', 40_000);
    await waitReady(cp, 'collection/t-rewatch/iocs');
    expect(op.logs.some((l) => l.includes('re-establishing'))).toBe(true);
  });
});
