import { describe, expect, it } from 'vitest';
import type { CatalogSnapshot, CatalogStore } from '@taxiway/domain';
import { CatalogService } from './catalog.service';

const snapshot = (name: string): CatalogSnapshot => ({
  roots: [{ pk: 1, name, path: name, title: name, description: undefined, maxContentLength: 1 }],
  collections: [],
  principals: [],
  rootGrants: [],
  collectionGrants: [],
  groupRootGrants: [],
  groupCollectionGrants: [],
  apiKeys: [],
});

/** A catalogue store whose loads finish when the test says so. */
class SlowStore implements CatalogStore {
  readonly waiting: ((s: CatalogSnapshot) => void)[] = [];
  loadCatalog(): Promise<CatalogSnapshot> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }
}

describe('CatalogService.reload', () => {
  it('never lets an earlier, slower reload put back an older catalogue', async () => {
    const store = new SlowStore();
    const log = { error: () => undefined, warn: () => undefined, info: () => undefined } as never;
    const catalog = new CatalogService(store, log);
    const first = catalog.reload();
    const second = catalog.reload();
    store.waiting[1]!(snapshot('new'));
    await second;
    store.waiting[0]!(snapshot('old'));
    await first;
    expect(catalog.rootByPath('new')).toBeDefined();
    expect(catalog.rootByPath('old')).toBeUndefined();
  });
});
