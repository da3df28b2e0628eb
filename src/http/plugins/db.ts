import fp from 'fastify-plugin';
import { createDb, type DbHandle } from '../../db/client.js';
import type { Config } from '../../config.js';

declare module 'fastify' {
  interface FastifyInstance {
    dbHandle: DbHandle;
  }
}

/**
 * Every statement the hub runs is a short OLTP one (a message insert, a page of history);
 * one still running after this long is stuck behind a lock or a sick server, and is better
 * cancelled and answered `unavailable` than left holding a request and a pool connection.
 */
export const HUB_STATEMENT_TIMEOUT_MS = 5000;

/** Postgres pool for the app's lifetime; fails boot when Postgres does not answer. */
export default fp<{ config: Config }>(
  async (app, { config }) => {
    const handle = createDb({ url: config.DATABASE_URL, max: config.DATABASE_POOL_SIZE, statementTimeoutMs: HUB_STATEMENT_TIMEOUT_MS });
    try {
      await handle.ping();
    } catch (err) {
      await handle.close();
      throw new Error(`DATABASE_URL: cannot connect to Postgres (${describe(err)})`);
    }
    app.decorate('dbHandle', handle);
    app.addHook('onClose', () => handle.close());
  },
  { name: 'db' },
);

function describe(err: unknown): string {
  if (err instanceof Error) return (err as { code?: string }).code ?? err.message;
  return String(err);
}
