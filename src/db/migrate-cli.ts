import { loadConfig, ConfigError } from '../config.js';
import { createDb } from './client.js';
import { runMigrations } from './migrate.js';

/** `npm run db:migrate`: applies pending migrations; running it again is harmless. */
async function main(): Promise<void> {
  const config = loadConfig();
  const handle = createDb({ url: config.DATABASE_URL, max: 2 });
  try {
    await runMigrations(handle);
    process.stdout.write('migrations applied\n');
  } finally {
    await handle.close();
  }
}

main().catch((err: unknown) => {
  const message = err instanceof ConfigError ? err.message : `db:migrate failed: ${(err as Error).message}`;
  process.stderr.write(`${message}\n`);
  process.exit(1);
});
