import * as vitest from 'vitest';
import { describe, expect, it } from 'vitest';
import { Window, type CollectionInfo } from '@taxiway/domain';
import { catalogSnapshot } from './memory-catalog-store';
import { MemoryTaxii1Store } from './memory-taxii1-store';
import { taxii1StoreContract } from './taxii1-store-contract';

taxii1StoreContract(vitest, 'memory', () => {
  const collections: CollectionInfo[] = [];
  const root = { pk: 1, name: 'r1', path: 'r1', title: 'R1', description: undefined, maxContentLength: 1 };
  const principal = { pk: 7, name: 'p1', displayName: undefined, passwordHash: undefined, disabled: false };
  const store = new MemoryTaxii1Store({ catalog: () => catalogSnapshot({ roots: [root], collections, principals: [principal] }) });
  return Promise.resolve({
    store,
    principalPk: principal.pk,
    rootPath: root.path,
    principalName: principal.name,
    createCollection(opts: { readonly maxObjects?: number } = {}) {
      const pk = collections.length + 1;
      const name = `k${pk}`;
      collections.push({ pk, id: crypto.randomUUID(), apiRootPk: root.pk, name, alias: undefined, title: name, description: undefined, mediaTypes: [] });
      store.setQuota(pk, opts.maxObjects);
      return Promise.resolve({ pk, name });
    },
    close: () => Promise.resolve(),
  });
});

describe('MemoryTaxii1Store', () => {
  it('draws labels from its clock, never behind the newest', async () => {
    let now = 5;
    const store = new MemoryTaxii1Store({ now: () => now });
    const [a] = await store.addBlocks([1], 1, [{ binding: 'b', subtype: undefined, content: 'x', contentNs: {}, message: undefined }]);
    now = 1;
    const [b] = await store.addBlocks([1], 1, [{ binding: 'b', subtype: undefined, content: 'y', contentNs: {}, message: undefined }]);
    expect([a!.firstUs, b!.firstUs]).toEqual([5000, 5001]);
  });

  it('expires result sets and leases by its clock', async () => {
    let now = 1000;
    const store = new MemoryTaxii1Store({ now: () => now });
    const id = await store.createResultSet(
      { collectionPk: 1, principalPk: 1, subscriptionId: undefined, contentBindings: [], parts: [Window.of(undefined, 1)], recordCount: 1 },
      60,
    );
    now += 60_000;
    expect(await store.resultSet(id)).toBeUndefined();
    expect(await store.purgeResultSets()).toBe(1);
    const { row } = await store.subscribe({
      collectionPk: 1,
      principalPk: 1,
      version: '1.1',
      responseType: 'FULL',
      contentBindings: [],
      push: { protocol: 'p', address: 'https://x.example/', messageBinding: 'm' },
      fingerprint: 'f',
    });
    await store.addBlocks([1], 1, [{ binding: 'b', subtype: undefined, content: 'x', contentNs: {}, message: undefined }]);
    expect(await store.claimDeliveries(10, 100)).toHaveLength(1);
    expect(await store.claimDeliveries(10, 100)).toHaveLength(0);
    now += 101;
    const [again] = await store.claimDeliveries(10, 100);
    expect(again?.subscription.id).toBe(row.id);
    await store.retryLater(again!, 'e', 500);
    now += 499;
    expect(await store.claimDeliveries(10, 100)).toHaveLength(0);
    now += 1;
    expect(await store.claimDeliveries(10, 100)).toHaveLength(1);
  });
});
