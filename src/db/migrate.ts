import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { POOL_TIMEOUTS } from './client.js';

export const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

// Any constant works; it only has to be the same for every process of the hub.
const MIGRATION_LOCK_ID = 7_342_001;

/**
 * Applies pending migrations (drizzle's migrator, over the committed files in migrations/).
 * An advisory lock makes it safe for several pods (or `npm run db:migrate` next to
 * `npm run dev`) to start at once.
 *
 * It opens a connection of its own rather than borrowing a pool: drizzle's postgres-js driver
 * rewrites the client's type parsers (it turns off date parsing), which must never happen to
 * a pool the repositories read with. One connection holds the lock and runs the migrations.
 */
export async function runMigrations(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, connect_timeout: POOL_TIMEOUTS.connectTimeout, onnotice: () => {} });
  try {
    await sql`select pg_advisory_lock(${MIGRATION_LOCK_ID})`;
    try {
      await migrate(drizzle(sql), { migrationsFolder: MIGRATIONS_DIR });
    } finally {
      await sql`select pg_advisory_unlock(${MIGRATION_LOCK_ID})`.catch(() => {});
    }
  } finally {
    await sql.end({ timeout: 2 });
  }
}
