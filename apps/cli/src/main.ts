#!/usr/bin/env node
import { loadConfig } from '@taxiway/config';
import { Database, SqlAdminStore, SqlAuditLog, SqlCatalogStore, SqlTaxii1Store } from '@taxiway/store';
import { runCommand, USAGE } from './commands';

async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return argv.length === 0 ? 2 : 0;
  }
  const config = loadConfig(process.env, []);
  const db = await Database.open({ url: config.databaseUrl, dataDir: config.dataDir, poolSize: 1 });
  const ds = db.dataSource;
  try {
    const applied = db.applied;
    if (argv[0] === 'migrate') {
      process.stdout.write(applied.length === 0 ? 'migrations: up to date\n' : `migrations applied: ${applied.join(', ')}\n`);
      return 0;
    }
    return await runCommand(
      argv,
      { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`), env: process.env },
      {
        admin: new SqlAdminStore(ds),
        catalog: new SqlCatalogStore(ds),
        audit: new SqlAuditLog(ds, { flushMs: 60_000, maxBatch: 1, onError: () => undefined }),
        taxii1: new SqlTaxii1Store(ds),
      },
    );
  } finally {
    await db.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`taxiway: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
