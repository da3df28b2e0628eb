import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { drizzle } from 'drizzle-orm/pglite';
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
  const pg = await PGlite.create(dir);
  try {
    await migrate(drizzle(pg, { schema }), { migrationsFolder: MIGRATIONS_DIR });
    const server = new PGLiteSocketServer({ db: pg, host: '127.0.0.1', port: 0, maxConnections: MAX_CONNECTIONS });
    await server.start();
    return {
      url: `postgres://postgres@${server.getServerConn()}/postgres`,
      dataDir: dir,
      close: async () => {
        await server.stop();
        await pg.close();
      },
    };
  } catch (err) {
    await pg.close().catch(() => {});
    throw err;
  }
}
