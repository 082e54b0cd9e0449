import { ConfigError, loadConfig } from '@taxiway/config';
import { isDomainError } from '@taxiway/domain';
import { createTaxiwayServer } from './server';

async function main(): Promise<void> {
  const config = loadConfig();
  const server = await createTaxiwayServer(config);
  // SIGTERM/SIGINT run Nest's shutdown (not ready, drain, close in order), then the process exits 0.
  server.app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  const url = await server.listen();
  server.app
    .getHttpAdapter()
    .getInstance()
    .log.info(
      { url, publicBaseUrl: config.publicBaseUrl, database: config.databaseUrl === undefined ? `embedded PGlite (${config.dataDir})` : 'postgresql' },
      'taxiway listening',
    );
}

main().catch((e: unknown) => {
  if (e instanceof ConfigError || isDomainError(e)) {
    process.stderr.write(`taxiway: ${e.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`taxiway: failed to start: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
