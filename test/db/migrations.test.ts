import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { createDb } from '../../src/db/client.js';
import { runMigrations } from '../../src/db/migrate.js';
import { testEnv } from '../helpers/config.js';

describe('migrations', () => {
  const base = new URL(testEnv().DATABASE_URL!);
  const admin = postgres({ host: base.hostname, port: Number(base.port), user: base.username, database: 'postgres', max: 1, onnotice: () => {} });
  const name = `inbox_mig_${randomBytes(4).toString('hex')}`;
  afterAll(async () => {
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.end();
  });

  it('apply to an empty database and are harmless the second time', async () => {
    await admin.unsafe(`create database "${name}"`);
    const url = new URL(base);
    url.pathname = `/${name}`;
    const handle = createDb({ url: url.toString(), max: 2 });
    try {
      await runMigrations(url.toString());
      await runMigrations(url.toString());
      const tables = await handle.sql<{ table_name: string }[]>`
        select table_name from information_schema.tables where table_schema = 'public' order by table_name`;
      expect(tables.map((t) => t.table_name)).toEqual(['conversations', 'delivered_markers', 'job_output', 'jobs', 'messages', 'notices', 'notify_batches', 'read_markers', 'session_delivered_markers', 'sessions', 'users']);
      const applied = await handle.sql`select count(*)::int as n from drizzle.__drizzle_migrations`;
      expect(applied[0]!.n).toBe(6);
      const indexes = await handle.sql<{ indexname: string }[]>`select indexname from pg_indexes where schemaname = 'public' order by 1`;
      expect(indexes.map((i) => i.indexname)).toEqual(
        expect.arrayContaining(['users_email_lower_key', 'conversations_pair_key', 'conversations_worker_id_idx', 'messages_conversation_seq_key', 'messages_sender_client_msg_id_key', 'jobs_owner_created_idx', 'jobs_live_updated_idx', 'job_output_job_id_offset_pk', 'notices_job_kind_idx', 'notices_unread_idx', 'jobs_owner_queued_idx', 'notify_batches_open_key']),
      );
    } finally {
      await handle.close();
    }
  });
});
