import { pino, type LoggerOptions } from 'pino';
import { startWorkers } from '../workers/start.js';
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { createDb } from './db/client.js';
import { runMigrations } from './db/migrate.js';
import { loggerOptions } from './logger.js';
import { installShutdown } from './shutdown.js';

/** `npm run dev`: migrations, then a hub and a worker in one process, for one machine. */
async function main(): Promise<void> {
  const config = loadConfig();
  // Two connections: runMigrations holds one for its advisory lock while drizzle migrates on the other.
  const migrator = createDb({ url: config.DATABASE_URL, max: 2 });
  await runMigrations(migrator).finally(() => migrator.close());
  const app = await buildApp(config);
  const workers = await startWorkers(config, { log: pino(loggerOptions(config) as LoggerOptions).child({ process: 'worker' }) });
  // Workers first: their last status writes still reach the hub's sockets before it closes.
  installShutdown(app.log, async () => {
    await workers.close();
    await app.close();
  });
  await app.listen({ port: config.PORT, host: config.HOST });
  const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? 'localhost' : config.HOST;
  process.stdout.write(`\n  inbox hub and worker running: open http://${host}:${config.PORT}/\n\n`);
}

main().catch((err: unknown) => {
  const line = err instanceof ConfigError ? err.message : `dev failed to start: ${(err as Error).message ?? String(err)}`;
  process.stderr.write(`${line}\n`);
  process.exit(1);
});
