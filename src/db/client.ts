import postgres from 'postgres';

/** The pool: the one way the processes reach Postgres (postgres.js tagged SQL, in src/db/repositories/). */
export type Sql = postgres.Sql;
/** The pool or an open transaction (`sql.begin(tx => ...)`): repositories take either, so services compose them. */
export type Executor = postgres.ISql;

export interface DbHandle {
  sql: Sql;
  /** One round trip (`select 1`): boot checks and readiness probes. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The pool's timeouts, chosen for failing over and restarting rather than left to the driver's
 * defaults (no idle limit, a 30-60 min lifetime, a 30 s connect timeout):
 * - `connectTimeout` 5 s: a query waiting for a connection that cannot be opened fails instead
 *   of hanging a request (and it provably was never sent, so the message writer retries it).
 * - `idleTimeout` 30 s: idle connections are closed, so after a traffic burst, a network blip or
 *   a restart the pool holds few connections that could be stale, and reopens them on demand.
 * - `maxLifetime` 5-10 min (random per connection, so they are not all replaced at once): no
 *   connection outlives a server's restart, failover or config reload by more than that.
 * Every value can be overridden per pool (tests use short ones).
 */
export const POOL_TIMEOUTS = {
  connectTimeout: 5,
  idleTimeout: 30,
  maxLifetime: () => 5 * 60 + Math.random() * 5 * 60,
} as const;

/**
 * How long `close()` lets connections finish before destroying them. Processes close the pool
 * last, when nothing of theirs is in flight; what can still be pending is a connection being
 * opened (a pool refilling itself), which `end()` waits for until its connect timeout. With 5 s
 * here that made a SIGTERM'd pod take 7 s to exit instead of 1.5 s.
 */
export const CLOSE_TIMEOUT_S = 2;

export interface DbOptions {
  url: string;
  max?: number;
  /** Seconds before a query that got no connection fails; keeps requests from hanging while Postgres is down. */
  connectTimeout?: number;
  /** Seconds an unused connection stays open. */
  idleTimeout?: number;
  /** Seconds (or a function giving them, per connection) before a connection is replaced, once idle. */
  maxLifetime?: number | (() => number);
  /**
   * Server-side `statement_timeout` in ms for every statement of this pool (none when unset).
   * A statement that waits on a lock or a slow disk longer than this is cancelled and rolled
   * back (SQLSTATE 57014), so the caller can truthfully answer "nothing was stored".
   * Leave it unset for migrations and long batch work.
   */
  statementTimeoutMs?: number;
}

export function createDb({
  url,
  max = 10,
  connectTimeout = POOL_TIMEOUTS.connectTimeout,
  idleTimeout = POOL_TIMEOUTS.idleTimeout,
  maxLifetime = POOL_TIMEOUTS.maxLifetime,
  statementTimeoutMs,
}: DbOptions): DbHandle {
  const sql = postgres(url, {
    max,
    connect_timeout: connectTimeout,
    idle_timeout: idleTimeout,
    max_lifetime: maxLifetime as number,
    onnotice: () => {},
    connection: {
      application_name: 'inbox-hub',
      ...(statementTimeoutMs === undefined ? {} : { statement_timeout: statementTimeoutMs }),
    },
  });
  return {
    sql,
    ping: async () => void (await sql`select 1`),
    close: () => sql.end({ timeout: CLOSE_TIMEOUT_S }),
  };
}
