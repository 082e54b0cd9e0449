import type { DesiredState } from '@taxiway/domain';
import { principal } from '../../../test/support/server';

export { minimalIndicator as indicator } from '@taxiway/testing';

export const RW = '11111111-1111-4111-8111-111111111111';
export const RO = '22222222-2222-4222-8222-222222222222';
export const B1 = '33333333-3333-4333-8333-333333333333';
export const MAX = 50_000;

/**
 * Two tenants. In tenant-a: alice reads+writes `rw` and reads `ro`; bob only reads `rw`; carol only
 * writes `rw`; dave has no grant anywhere. mallory reads+writes tenant-b's `b1`. eve administers
 * `empty`, a root with no collections.
 */
export const STATE: DesiredState = {
  apiRoots: [
    { name: 'tenant-a', path: 'tenant-a', title: 'Tenant A', description: 'Trust group A', maxContentLength: MAX, deletionPolicy: 'Retain', grants: [] },
    { name: 'tenant-b', path: 'tenant-b', title: 'Tenant B', description: undefined, maxContentLength: MAX, deletionPolicy: 'Retain', grants: [] },
    {
      name: 'empty',
      path: 'empty',
      title: 'Empty',
      description: undefined,
      maxContentLength: MAX,
      deletionPolicy: 'Retain',
      grants: [{ principal: 'eve', role: 'admin' }],
    },
  ],
  collections: [
    {
      name: 'rw',
      apiRoot: 'tenant-a',
      id: RW,
      alias: 'rw',
      title: 'Read-write',
      description: 'rw collection',
      mediaTypes: ['application/stix+json;version=2.1'],
      deletionPolicy: 'Delete',
      grants: [
        { principal: 'alice', read: true, write: true },
        { principal: 'bob', read: true, write: false },
        { principal: 'carol', read: false, write: true },
      ],
    },
    {
      name: 'ro',
      apiRoot: 'tenant-a',
      id: RO,
      alias: undefined,
      title: 'Read-only',
      description: undefined,
      mediaTypes: ['application/stix+json;version=2.1'],
      deletionPolicy: 'Delete',
      grants: [{ principal: 'alice', read: true, write: false }],
    },
    {
      name: 'b1',
      apiRoot: 'tenant-b',
      id: B1,
      alias: 'b1',
      title: 'B1',
      description: undefined,
      mediaTypes: ['application/stix+json;version=2.1'],
      deletionPolicy: 'Delete',
      grants: [{ principal: 'mallory', read: true, write: true }],
    },
  ],
  principals: ['alice', 'bob', 'carol', 'dave', 'mallory', 'eve'].map((n) => principal(n)),
};

let n = 0;
export function indicatorId(): string {
  n++;
  return `indicator--${String(n).padStart(8, '0')}-aaaa-4bbb-8ccc-${Date.now().toString(16).padStart(12, '0').slice(-12)}`;
}

export const TS_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
export const UUID4_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
