import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { createDb } from '../../src/db/client.js';
import { runMigrations } from '../../src/db/migrate.js';
import { testEnv } from './config.js';

export interface IsolatedDatabase {
  url: string;
  sql: postgres.Sql;
  drop(): Promise<void>;
}

/**
 * A migrated database of its own, for a test that must count every row in a table
 * (the run's shared database has other files writing to it at the same time).
 */
export async function createIsolatedDatabase(label: string): Promise<IsolatedDatabase> {
  const runUrl = new URL(testEnv().DATABASE_URL!);
  const name = `${runUrl.pathname.slice(1)}_${label}_${randomBytes(3).toString('hex')}`;
  const adminUrl = new URL(runUrl);
  adminUrl.pathname = '/postgres';
  const admin = postgres(adminUrl.toString(), { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(runUrl);
  url.pathname = `/${name}`;
  await runMigrations(url.toString());
  const handle = createDb({ url: url.toString(), max: 2 });
  return {
    url: url.toString(),
    sql: handle.sql,
    drop: async () => {
      await handle.close();
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end();
    },
  };
}
