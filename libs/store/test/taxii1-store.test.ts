import * as vitest from 'vitest';
import { SqlTaxii1Store } from '@taxiway/store';
import { taxii1StoreContract, type Taxii1StoreFixture } from '@taxiway/testing';
import { BACKENDS, state, type Backend } from './backends';

/** The contract's fixture on a SQL backend: the API root r1 and principal p1 of state(), collections applied as the operator would. */
async function openTaxii1StoreFixture(backend: { open(): Promise<Backend> }): Promise<Taxii1StoreFixture> {
  const b = await backend.open();
  const names: string[] = [];
  const quotas = new Map<string, number>();
  await b.catalog.applyDesiredState(state(names), { prune: true });
  const principal = (await b.catalog.loadCatalog()).principals[0]!;
  return {
    store: new SqlTaxii1Store(b.ds),
    principalPk: principal.pk,
    principalName: principal.name,
    rootPath: 'r1',
    async createCollection(opts = {}) {
      const name = `k${names.length + 1}`;
      names.push(name);
      if (opts.maxObjects !== undefined) quotas.set(name, opts.maxObjects);
      await b.catalog.applyDesiredState(state(names, quotas), { prune: true });
      const made = (await b.catalog.loadCatalog()).collections.find((c) => c.name === name);
      if (made === undefined) throw new Error(`collection ${name} was not created`);
      return { pk: made.pk, name };
    },
    close: () => b.close(),
  };
}

// What every Taxii1Store does (libs/testing), on each SQL backend.
for (const backend of BACKENDS) taxii1StoreContract(vitest, backend.name, () => openTaxii1StoreFixture(backend));
