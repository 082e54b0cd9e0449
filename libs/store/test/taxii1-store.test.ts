import * as vitest from 'vitest';
import { SqlTaxii1Store } from '@taxiway/store';
import { taxii1StoreContract, type Taxii1StoreFixture } from '@taxiway/testing';
import { BACKENDS, openContractBackend, type Backend } from './backends';

/** The contract's fixture on a SQL backend: the API root r1 and principal p1 of state(), collections applied as the operator would. */
async function openTaxii1StoreFixture(backend: { open(): Promise<Backend> }): Promise<Taxii1StoreFixture> {
  const { b, catalog, createCollection } = await openContractBackend(backend);
  const principal = catalog.principals[0]!;
  return {
    store: new SqlTaxii1Store(b.ds),
    principalPk: principal.pk,
    principalName: principal.name,
    rootPath: 'r1',
    createCollection,
    close: () => b.close(),
  };
}

// What every Taxii1Store does (libs/testing), on each SQL backend.
for (const backend of BACKENDS) taxii1StoreContract(vitest, backend.name, () => openTaxii1StoreFixture(backend));
