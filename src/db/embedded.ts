import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { drizzle } from 'drizzle-orm/pglite';
import { lock } from 'proper-lockfile';
import { migrate } from 'drizzle-orm/pglite/migrator';
import { MIGRATIONS_DIR } from './migrate.js';
import * as schema from './schema/index.js';

/** An in-process Postgres (PGlite) that `npm run dev` uses when no DATABASE_URL is given. */
export interface EmbeddedPostgres {
  /** A postgres:// URL for the hub's and the worker's pools. */
  url: string;
  dataDir: string;
  close(): Promise<void>;
}

// The hub's and the worker's pools share one PGlite; the socket server queues their queries.
const MAX_CONNECTIONS = 64;

/**
 * Opens (or creates) the database under `dataDir`, applies the migrations through drizzle's
 * PGlite driver, then serves it on a random loopback port. The repositories speak postgres.js,
 * so the hub reaches PGlite through that port like any other Postgres: one SQL dialect, one
 * driver in the hub, and the embedded mode exercises the same queries production runs.
 */
export async function startEmbeddedPostgres(dataDir: string): Promise<EmbeddedPostgres> {
  const dir = resolve(dataDir);
  await mkdir(dir, { recursive: true });
  const unlock = await lockDataDir(dir);
  let pg: PGlite | undefined;
  try {
    pg = await PGlite.create(dir);
    await migrate(drizzle(pg, { schema }), { migrationsFolder: MIGRATIONS_DIR });
    const server = new PGLiteSocketServer({ db: pg, host: '127.0.0.1', port: 0, maxConnections: MAX_CONNECTIONS });
    await server.start();
    const db = pg;
    return {
      url: `postgres://postgres@${server.getServerConn()}/postgres`,
      dataDir: dir,
      close: async () => {
        await server.stop();
        await db.close();
        await unlock();
      },
    };
  } catch (err) {
    await pg?.close().catch(() => {});
    await unlock();
    throw err;
  }
}

/**
 * PGlite is one process's database: a second `npm run dev` on the same directory would write
 * the same files at once. The lock (`<dir>.lock`) is refreshed while held and counts as
 * abandoned 10 s after its process died, so a crash does not lock the data away.
 */
async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  try {
    // A laptop asleep past `stale` finds its lock "compromised" on waking; that is no reason to crash.
    const onCompromised = (err: Error) => process.stderr.write(`warning: lock on ${dir} lost (${err.message})\n`);
    return await lock(dir, { stale: 10_000, realpath: false, onCompromised });
  } catch (err) {
    if ((err as { code?: string }).code !== 'ELOCKED') throw err;
    throw new Error(`${dir} is in use by another npm run dev (a crashed one lets go within 10 s): stop it, or set PGLITE_DATA_DIR to another directory`);
  }
}
