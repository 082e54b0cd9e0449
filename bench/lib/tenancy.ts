import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashSync } from '@node-rs/argon2';
import { generateApiKey } from '@taxiway/auth';
import { API_ROOT, BENCH_COLLECTION, PRINCIPAL, WARMUP_COLLECTION } from './server';

/**
 * Who the benchmark is and what the server knows besides it:
 * - `single`: one principal with a role on the one API root, no collection grants, HTTP Basic with a
 *   password, reads not audited: the figures "with a single user and no grants".
 * - `mssp`: the bench API root among 200 other trust groups (1000 collections, 2000 principals in 50
 *   groups, role and override grants everywhere); the bench principal reaches its collections
 *   through group roles, a group deny and its own override, authenticates with an API key
 *   (Bearer), has a per-principal rate limit (high enough never to refuse), and every read is
 *   audited: the figures "with auth on".
 */
export type TenancyMode = 'single' | 'mssp';
export const TENANCY_MODES: readonly TenancyMode[] = ['single', 'mssp'];

export interface BenchTenancy {
  readonly mode: TenancyMode;
  readonly configPath: string;
  /** The Authorization header the bench client sends. */
  readonly authorization: string;
  /** Extra server environment (the secrets the config references, audit settings). */
  readonly serverEnv: Readonly<Record<string, string>>;
}

const OTHER_ROOTS = 200;
const COLLECTIONS_PER_ROOT = 5;
const OTHER_PRINCIPALS = 2000;
const GROUPS = 50;

const doc = (kind: string, name: string, spec: string): string =>
  `---\napiVersion: taxiway.io/v1alpha1\nkind: ${kind}\nmetadata: { name: ${name} }\nspec: ${spec}\n`;

const collection = (name: string, root: string, id: string, grants: string): string =>
  doc('Collection', name, `{ apiRoot: ${root}, id: ${id}, title: ${name}, grants: ${grants} }`);

function singleYaml(): string {
  return (
    doc('ApiRoot', API_ROOT, `{ title: Bench, maxContentLength: 104857600, grants: [{ principal: ${PRINCIPAL}, role: write }] }`) +
    collection('measured', API_ROOT, BENCH_COLLECTION, '[]') +
    collection('warmup', API_ROOT, WARMUP_COLLECTION, '[]') +
    doc('Principal', PRINCIPAL, '{ passwordFrom: { env: BENCH_PASSWORD } }')
  );
}

/** A deterministic UUIDv4-shaped id for filler collection `n`. */
const fillerId = (n: number): string => `${n.toString(16).padStart(8, '0')}-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

function otherTenants(fillerHash: string): string {
  const parts: string[] = [];
  for (let r = 0; r < OTHER_ROOTS; r++) {
    const g = `group-${r % GROUPS}`;
    parts.push(doc('ApiRoot', `tenant-${r}`, `{ title: Tenant ${r}, grants: [{ group: ${g}, role: read }, { principal: member-${r}, role: admin }] }`));
    for (let c = 0; c < COLLECTIONS_PER_ROOT; c++) {
      const grants = `[{ principal: member-${(r * 7 + c) % OTHER_PRINCIPALS}, write: true }, { group: group-${(r + c + 1) % GROUPS}, read: ${c % 2 === 0} }]`;
      parts.push(collection(`c${c}`, `tenant-${r}`, fillerId(r * COLLECTIONS_PER_ROOT + c + 1), grants));
    }
  }
  for (let p = 0; p < OTHER_PRINCIPALS; p++) {
    parts.push(doc('Principal', `member-${p}`, `{ passwordHash: "${fillerHash}", groups: [group-${p % GROUPS}, group-${(p * 3) % GROUPS}] }`));
  }
  return parts.join('');
}

function msspYaml(fillerHash: string): string {
  return (
    doc(
      'ApiRoot',
      API_ROOT,
      `{ title: Bench, maxContentLength: 104857600, grants: [{ group: analysts, role: read }, { group: group-1, role: read }, { principal: member-1, role: admin }] }`,
    ) +
    // Writes come from the bench principal's own override; the group "auditors" denies, its own override wins.
    collection('measured', API_ROOT, BENCH_COLLECTION, `[{ group: auditors, read: false }, { principal: ${PRINCIPAL}, read: true, write: true }]`) +
    collection('warmup', API_ROOT, WARMUP_COLLECTION, `[{ group: analysts, write: true }]`) +
    doc(
      'Principal',
      PRINCIPAL,
      `{ groups: [analysts, auditors, group-7], apiKeys: [{ name: bench, keyFrom: { env: BENCH_API_KEY } }], rateLimit: { requestsPerSecond: 1000000, burst: 1000000 } }`,
    ) +
    otherTenants(fillerHash)
  );
}

/** Writes the configuration of `mode` into `dir` and returns how to run and reach it. */
export function prepareTenancy(mode: TenancyMode, dir: string): BenchTenancy {
  const configPath = join(dir, `bench-${mode}.yaml`);
  if (mode === 'single') {
    const password = randomBytes(18).toString('base64url');
    writeFileSync(configPath, singleYaml());
    return {
      mode,
      configPath,
      authorization: `Basic ${Buffer.from(`${PRINCIPAL}:${password}`).toString('base64')}`,
      serverEnv: { BENCH_PASSWORD: password, AUDIT_READS: 'false' },
    };
  }
  const key = generateApiKey().key;
  writeFileSync(configPath, msspYaml(hashSync(randomBytes(18).toString('base64url'))));
  return { mode, configPath, authorization: `Bearer ${key}`, serverEnv: { BENCH_API_KEY: key, AUDIT_READS: 'true' } };
}
