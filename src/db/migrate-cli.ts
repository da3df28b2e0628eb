import { loadConfig, ConfigError } from '../config.js';
import { runMigrations } from './migrate.js';

/** `npm run db:migrate`: applies pending migrations; running it again is harmless. */
async function main(): Promise<void> {
  const config = loadConfig();
  await runMigrations(config.DATABASE_URL);
  process.stdout.write('migrations applied\n');
}

main().catch((err: unknown) => {
  const message = err instanceof ConfigError ? err.message : `db:migrate failed: ${(err as Error).message}`;
  process.stderr.write(`${message}\n`);
  process.exit(1);
});
