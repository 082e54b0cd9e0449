import * as vitest from 'vitest';
import { describe, expect, it } from 'vitest';
import { validateStixObject, type StixRecord } from '@taxiway/domain';
import { MemoryObjectStore } from './memory-object-store';
import { objectStoreContract } from './object-store-contract';
import { minimalIndicator } from './stix';

objectStoreContract(vitest, 'memory', () => {
  const store = new MemoryObjectStore();
  return Promise.resolve({
    store,
    apiRootPk: 1,
    principalPk: 7,
    createCollection: (opts) => Promise.resolve(store.createCollection(opts)),
    close: () => Promise.resolve(),
  });
});

describe('MemoryObjectStore', () => {
  const record = (id: string): StixRecord => {
    const v = validateStixObject(minimalIndicator(id), ['application/stix+json']);
    if (!v.ok) throw new Error(v.message);
    return v.record;
  };
  const add = (store: MemoryObjectStore, collectionPk: number, ids: readonly string[]) =>
    store.addObjects({
      statusId: crypto.randomUUID(),
      apiRootPk: 1,
      collectionPk,
      principalPk: 1,
      requestTimestampUs: 0,
      valid: ids.map((id, index) => ({ index, record: record(id) })),
      invalid: [],
    });

  it('counts the object versions a collection holds, as its quota does', async () => {
    const store = new MemoryObjectStore();
    const c = store.createCollection();
    const ids = ['indicator--00000000-0000-4000-8000-000000000001', 'indicator--00000000-0000-4000-8000-000000000002'];
    await add(store, c, ids);
    expect(store.objectCount(c)).toBe(2);
    await store.deleteObject(c, ids[0]!, {});
    expect(store.objectCount(c)).toBe(1);
  });

  it('refuses an add to a collection it does not hold, and records no status', async () => {
    const store = new MemoryObjectStore();
    await expect(add(store, 99, ['indicator--00000000-0000-4000-8000-000000000001'])).rejects.toThrow('no collection 99');
    expect(await store.purgeStatuses(Number.MAX_SAFE_INTEGER)).toBe(0);
  });
});
