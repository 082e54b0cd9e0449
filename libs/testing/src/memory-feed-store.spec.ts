import * as vitest from 'vitest';
import { ALL_VERSIONS } from '@taxiway/domain';
import { feedStoreContract } from './feed-store-contract';
import { MemoryFeedStore } from './memory-feed-store';
import { MemoryObjectStore } from './memory-object-store';

feedStoreContract(vitest, 'memory', () => {
  const objects = new MemoryObjectStore();
  const store = new MemoryFeedStore(objects);
  return Promise.resolve({
    store,
    createFeed: (opts = {}) => {
      const collectionPk = objects.createCollection();
      return Promise.resolve({ feedPk: store.createFeed(collectionPk, opts), collectionPk });
    },
    versions: async (collectionPk) => {
      const page = await objects.page({ collectionPk, filter: {}, defaultVersions: ALL_VERSIONS, limit: 10_000, shape: 'manifest' });
      return page.rows.map((r) => `${r.id}@${r.version}`).sort();
    },
    close: () => Promise.resolve(),
  });
});
