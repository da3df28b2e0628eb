import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type DbHandle } from '../../src/db/client.js';
import { MarkerWriter, type MarkerUpdate } from '../../src/domain/marker-writer.js';
import { createIsolatedDatabase, type IsolatedDatabase } from '../helpers/database.js';
import { startPgQueryLog, type PgQueryLog } from '../helpers/pg-query-log.js';

// The marker writer straight against Postgres (its own database), through a proxy that logs statements.
let db: IsolatedDatabase;
let pg: PgQueryLog;
let pool: DbHandle;
let users: number[];
let sessions: number[];
let conversations: number[];
beforeAll(async () => {
  db = await createIsolatedDatabase('markers');
  pg = await startPgQueryLog(db.url);
  pool = createDb({ url: pg.url, max: 4 });
  users = (await db.sql<{ id: number }[]>`
    insert into users (email, name, password_hash)
    select 'm' || g || '@example.test', 'M' || g, 'x' from generate_series(1, 41) g returning id`).map((u) => u.id);
  sessions = (await db.sql<{ id: number }[]>`
    insert into sessions (token_hash, user_id, expires_at)
    select md5(u::text || g::text), u, now() + interval '1 day' from unnest(${users}::int[]) u, generate_series(1, 2) g
    order by u, g returning id`).map((s) => s.id);
  // users[0] talks to each of the 40 others; every conversation has 10 messages.
  conversations = (await db.sql<{ id: number }[]>`
    insert into conversations (client_id, worker_id, last_seq)
    select ${users[0]!}, u, 10 from unnest(${users.slice(1)}::int[]) u returning id`).map((c) => c.id);
});
afterAll(async () => {
  await pool?.close();
  await pg?.close();
  await db?.drop();
});

type Published = [kind: 'read' | 'delivered', conversationId: number, userId: number, seq: number];
const publisher = (log: Published[]) => ({
  read: (c: number, u: number, seq: number) => void log.push(['read', c, u, seq]),
  delivered: (c: number, u: number, seq: number) => void log.push(['delivered', c, u, seq]),
});
/** Worker k's session `device` (0 or 1), in conversation k. */
const update = (k: number, device: number, seq: number, read = false): MarkerUpdate => ({
  userId: users[k + 1]!, sessionId: sessions[(k + 1) * 2 + device]!, conversationId: conversations[k]!, seq, read,
});
const markerStatements = (from: number) => pg.statements.slice(from).filter((s) => s.includes('delivered_markers')).length;

describe('MarkerWriter', () => {
  it('coalesces 400 receipts from 80 devices into one statement and answers each', async () => {
    const published: Published[] = [];
    const writer = new MarkerWriter(pool.sql, publisher(published));
    const from = pg.statements.length;
    const updates = conversations.flatMap((_, k) => [1, 2, 3, 4, 5].flatMap((seq) => [update(k, 0, seq), update(k, 1, Math.max(1, seq - 2))]));
    const results = await Promise.all(updates.map((u) => writer.write(u)));
    expect(results.every((r) => r.status === 'ok')).toBe(true);
    expect(results).toHaveLength(400);
    expect(markerStatements(from)).toBe(1);
    // Each user's marker moved once, to the highest seq over their two devices.
    expect(published.sort()).toEqual(conversations.map((c, k) => ['delivered', c, users[k + 1]!, 5] as Published).sort());
    const rows = await db.sql`select count(*)::int as n, sum(delivered_seq)::int as s from session_delivered_markers`;
    expect(rows[0]).toEqual({ n: 80, s: 40 * (5 + 3) });
  });

  it('answers not a member, above the last seq, and forward-only no-ops within one batch', async () => {
    const published: Published[] = [];
    const writer = new MarkerWriter(pool.sql, publisher(published));
    const outsider = { ...update(1, 0, 1), userId: users[3]! };
    const results = await Promise.all([
      writer.write(update(2, 0, 11)),
      writer.write(update(2, 0, 7, true)),
      writer.write(outsider),
      writer.write({ ...update(2, 0, 1), conversationId: 2_000_000_000 }),
      writer.write(update(3, 1, 0)),
      writer.write(update(2, 1, 2)),
    ]);
    expect(results).toEqual([
      { status: 'beyond_last', lastSeq: 10 },
      { status: 'ok' },
      { status: 'not_member' },
      { status: 'not_member' },
      { status: 'ok' },
      { status: 'ok' },
    ]);
    // Delivered 7 (above the 5 from before), then read 7; seq 0 and seq 2 changed nothing.
    expect(published).toEqual([['delivered', conversations[2]!, users[3]!, 7], ['read', conversations[2]!, users[3]!, 7]]);
  });

  it('two writers (two pods) racing on the same markers: every move is published once, in the end at the highest', async () => {
    const published: Published[][] = [[], []];
    const writers = published.map((log) => new MarkerWriter(pool.sql, publisher(log)));
    const k = 10;
    const writes = Array.from({ length: 60 }, (_, i) => writers[i % 2]!.write(update(k, i % 2, 6 + (i % 5))));
    expect((await Promise.all(writes)).every((r) => r.status === 'ok')).toBe(true);
    const moves = published.flat().map(([, , , seq]) => seq);
    // Each move is reported by the one statement that made it: no value twice.
    expect(new Set(moves).size).toBe(moves.length);
    expect(Math.max(...moves)).toBe(10);
    const [stored] = await db.sql`select delivered_seq from delivered_markers where user_id = ${users[k + 1]!} and conversation_id = ${conversations[k]!}`;
    expect(stored!.delivered_seq).toBe(10);
  });
});
