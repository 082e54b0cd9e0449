import type { DesiredState } from '@taxiway/domain';
import { STATE } from '../../apps/api/test/fixture';

/** The default max_content_length: what an attacker can send to a root that does not lower it. */
export const BIG = 100 * 1024 * 1024;
export const BIG_COLL = 'b1b1b1b1-0000-4000-8000-000000000001';

/** The API e2e fixture (tenant-a at 50,000 bytes), plus root `big` at 100 MiB with collection `big`, which alice writes. */
export const HOSTILE_STATE: DesiredState = {
  ...STATE,
  apiRoots: [
    ...STATE.apiRoots,
    {
      name: 'big',
      path: 'big',
      title: 'Big',
      description: undefined,
      maxContentLength: BIG,
      deletionPolicy: 'Retain',
      grants: [{ principal: 'alice', role: 'write' }],
    },
  ],
  collections: [
    ...STATE.collections,
    {
      name: 'big',
      apiRoot: 'big',
      id: BIG_COLL,
      alias: undefined,
      title: 'Big',
      description: undefined,
      mediaTypes: ['application/stix+json;version=2.1'],
      deletionPolicy: 'Delete',
      grants: [],
    },
  ],
};
