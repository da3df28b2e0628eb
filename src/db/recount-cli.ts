import { loadConfig, ConfigError } from '../config.js';
import { createDb } from './client.js';
import { recountUnreadCounters } from './repositories/conversations.js';

/**
 * `npm run db:recount`: recomputes the unread counters from the messages and read markers. Run
 * it once after the rolling update that brings migration 0005, when no pod of the version
 * before is left (those store messages and move markers without the counters); harmless at
 * any other time.
 */
async function main(): Promise<void> {
  const db = createDb({ url: loadConfig().DATABASE_URL, max: 1 });
  try {
    const { conversations, markers } = await recountUnreadCounters(db.sql);
    process.stdout.write(`unread counters recounted: ${conversations} conversations, ${markers} read markers\n`);
  } finally {
    await db.close();
  }
}

main().catch((err: unknown) => {
  const message = err instanceof ConfigError ? err.message : `db:recount failed: ${(err as Error).message}`;
  process.stderr.write(`${message}\n`);
  process.exit(1);
});
