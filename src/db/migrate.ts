import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import type { DbHandle } from './client.js';

export const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

// Any constant works; it only has to be the same for every process of the hub.
const MIGRATION_LOCK_ID = 7_342_001;

/**
 * Applies pending migrations. An advisory lock makes it safe for several pods
 * (or `npm run db:migrate` next to `npm run dev`) to start at once.
 */
export async function runMigrations({ db, sql }: DbHandle): Promise<void> {
  const reserved = await sql.reserve();
  try {
    await reserved`select pg_advisory_lock(${MIGRATION_LOCK_ID})`;
    await migrate(db, { migrationsFolder: MIGRATIONS_DIR });
  } finally {
    await reserved`select pg_advisory_unlock(${MIGRATION_LOCK_ID})`.catch(() => {});
    reserved.release();
  }
}
