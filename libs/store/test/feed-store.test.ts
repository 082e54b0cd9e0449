import * as vitest from 'vitest';
import { SqlFeedStore } from '@taxiway/store';
import { feedStoreContract, type FeedStoreFixture } from '@taxiway/testing';
import type { FeedSpec } from '@taxiway/domain';
import { BACKENDS, openContractBackend, type Backend } from './backends';

const SPEC: FeedSpec = {
  source: { kind: 'taxii21', collectionUrl: 'https://upstream.example/api/collections/c/' },
  pageSize: 1000,
  intervalSeconds: 300,
  jitterSeconds: 0,
};

/** The contract's fixture on a SQL backend: each feed gets a collection of its own, applied as the operator would; the feed row is inserted as the apply will. */
async function openFeedStoreFixture(backend: { open(): Promise<Backend> }): Promise<FeedStoreFixture> {
  const { b, catalog, createCollection } = await openContractBackend(backend);
  const rootPk = catalog.roots[0]!.pk;
  let n = 0;
  return {
    store: new SqlFeedStore(b.ds),
    async createFeed(opts = {}) {
      const { pk: collectionPk } = await createCollection();
      const rows: { pk: number }[] = await b.ds.query(
        `INSERT INTO feeds (api_root_pk, name, collection_pk, spec, auth_sealed, suspended) VALUES ($1, $2, $3, $4::jsonb, $5, $6) RETURNING pk`,
        [rootPk, `feed-${++n}`, collectionPk, JSON.stringify(opts.spec ?? SPEC), opts.authSealed ?? null, opts.suspended === true],
      );
      return { feedPk: rows[0]!.pk, collectionPk };
    },
    async versions(collectionPk) {
      const rows: { v: string }[] = await b.ds.query(`SELECT stix_id || '@' || version AS v FROM objects WHERE collection_pk = $1`, [collectionPk]);
      return rows.map((r) => r.v).sort();
    },
    close: () => b.close(),
  };
}

// What every FeedStore does (libs/testing), on each SQL backend.
for (const backend of BACKENDS) feedStoreContract(vitest, backend.name, () => openFeedStoreFixture(backend));
