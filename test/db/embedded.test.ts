import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type DbHandle } from '../../src/db/client.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/db/embedded.js';
import { MIGRATIONS_DIR } from '../../src/db/migrate.js';
import { MessageWriter } from '../../src/domain/message-writer.js';

// The PGlite that `npm run dev` falls back to: the hub's own queries, through its own driver.
let dir: string;
let pg: EmbeddedPostgres | undefined;
const pools: DbHandle[] = [];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'inbox-pglite-'));
});
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
  await pg?.close();
  await rm(dir, { recursive: true, force: true });
});

const open = (url: string) => {
  const pool = createDb({ url, max: 4 });
  pools.push(pool);
  return pool;
};

async function migrationCount(): Promise<number> {
  const journal = JSON.parse(await readFile(join(MIGRATIONS_DIR, 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] };
  return journal.entries.length;
}

describe('embedded Postgres (PGlite)', () => {
  it('creates the database under its directory and applies every migration once', async () => {
    pg = await startEmbeddedPostgres(join(dir, 'pglite'));
    expect(pg.url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
    const { sql } = open(pg.url);
    const applied = await sql`select count(*)::int as n from drizzle.__drizzle_migrations`;
    expect(applied[0]!.n).toBe(await migrationCount());
    const tables = await sql`select table_name from information_schema.tables where table_schema = 'public' order by table_name`;
    expect(tables.map((t) => t.table_name)).toEqual(['conversations', 'delivered_markers', 'job_output', 'jobs', 'messages', 'notices', 'notify_batches', 'read_markers', 'session_delivered_markers', 'sessions', 'users']);
  });

  it('serves two pools at once: group-committed seqs stay gapless and a rolled-back transaction leaks nothing', async () => {
    const hub = open(pg!.url);
    const worker = open(pg!.url);
    const users = await hub.sql<{ id: number }[]>`
      insert into users (email, name, password_hash) select 'e' || g || '@example.test', 'E' || g, 'x' from generate_series(1, 2) g returning id`;
    const [conv] = await hub.sql<{ id: number }[]>`insert into conversations (client_id, worker_id) values (${users[0]!.id}, ${users[1]!.id}) returning id`;
    const writers = [new MessageWriter(hub.sql, { message: () => {} }), new MessageWriter(worker.sql, { message: () => {} })];
    const message = (i: number) => ({ conversationId: conv!.id, senderId: users[i % 2]!.id, body: `m${i}`, type: 'TEXT' as const, clientMsgId: null });

    const rolledBack = hub.sql
      .begin(async (tx) => {
        await tx`insert into users (email, name, password_hash) values ('ghost@example.test', 'Ghost', 'x')`;
        await new Promise((r) => setTimeout(r, 150));
        throw new Error('abort on purpose');
      })
      .catch((err: Error) => err.message);
    const outcomes = await Promise.all(Array.from({ length: 60 }, (_, i) => writers[i % 2]!.write(message(i))));

    expect(await rolledBack).toBe('abort on purpose');
    expect(outcomes.map((o) => o.status)).toEqual(Array(60).fill('stored'));
    const seqs = outcomes.map((o) => (o.status === 'no_conversation' ? -1 : o.record.seq)).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    const [counts] = await worker.sql`
      select (select count(*)::int from messages) as messages, (select last_seq from conversations where id = ${conv!.id}) as last_seq,
             (select count(*)::int from users where email = 'ghost@example.test') as ghosts`;
    expect(counts).toEqual({ messages: 60, last_seq: 60, ghosts: 0 });
  });

  it('refuses a second process on the same directory while the first holds it', async () => {
    const dataDir = join(dir, 'pglite');
    await expect(startEmbeddedPostgres(dataDir)).rejects.toThrow(
      `${dataDir} is in use by another npm run dev (a crashed one lets go within 10 s): stop it, or set PGLITE_DATA_DIR to another directory`,
    );
    expect((await open(pg!.url).sql`select count(*)::int as n from messages`)[0]!.n).toBe(60);
  });

  it('keeps its data across a restart and does not migrate twice', async () => {
    await Promise.all(pools.splice(0).map((p) => p.close()));
    await pg!.close();
    pg = await startEmbeddedPostgres(join(dir, 'pglite'));
    const { sql } = open(pg.url);
    const [row] = await sql`
      select (select count(*)::int from messages) as messages, (select count(*)::int from drizzle.__drizzle_migrations) as migrations`;
    expect(row).toEqual({ messages: 60, migrations: await migrationCount() });
  });
});
