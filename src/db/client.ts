import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import * as schema from './schema/index.js';

export type Database = PostgresJsDatabase<typeof schema>;
/** A database handle or an open transaction: repositories accept either so services can compose them. */
export type Executor = Database | Parameters<Parameters<Database['transaction']>[0]>[0];

export interface DbHandle {
  db: Database;
  sql: postgres.Sql;
  close(): Promise<void>;
}

export interface DbOptions {
  url: string;
  max?: number;
  /** Seconds before a query that got no connection fails; keeps requests from hanging while Postgres is down. */
  connectTimeout?: number;
  /**
   * Server-side `statement_timeout` in ms for every statement of this pool (none when unset).
   * A statement that waits on a lock or a slow disk longer than this is cancelled and rolled
   * back (SQLSTATE 57014), so the caller can truthfully answer "nothing was stored".
   * Leave it unset for migrations and long batch work.
   */
  statementTimeoutMs?: number;
}

export function createDb({ url, max = 10, connectTimeout = 5, statementTimeoutMs }: DbOptions): DbHandle {
  const sql = postgres(url, {
    max,
    connect_timeout: connectTimeout,
    idle_timeout: 60,
    onnotice: () => {},
    connection: {
      application_name: 'inbox-hub',
      ...(statementTimeoutMs === undefined ? {} : { statement_timeout: statementTimeoutMs }),
    },
  });
  const db = drizzle(sql, { schema });
  return { db, sql, close: () => sql.end({ timeout: 5 }) };
}

/**
 * drizzle's postgres-js driver turns off postgres.js' date parsing, so raw queries see
 * timestamps as Postgres text ("2025-11-06 05:55:00.123+00"); this normalises both forms.
 */
export function toIso(value: Date | string): string {
  return (value instanceof Date ? value : new Date(value)).toISOString();
}
