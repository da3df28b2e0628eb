import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { recountUnreadCounters } from '../../src/db/repositories/conversations.js';
import { startApp, type RunningApp } from '../helpers/app.js';
import { api, newConversation, newUser, type TestUser } from '../helpers/http.js';
import { connectInbox, request, type ClientSocket } from '../helpers/sockets.js';

// unread_count is arithmetic on counters (src/db/repositories/conversations.ts); these tests hold
// it to the count it replaced, over single and batched sends, retries, reads and the backfill.
let hub: RunningApp;
const open: ClientSocket[] = [];
beforeAll(async () => {
  hub = await startApp({ MESSAGE_RATE_LIMIT: '1000' });
});
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});
afterAll(() => hub.close());

/** The definition: the other member's messages above the viewer's read marker, counted row by row. */
async function countedUnread(viewer: number, conversationId: number): Promise<number> {
  const [row] = await hub.app.dbHandle.sql<{ n: number }[]>`
    select count(*)::int as n from messages m
    where m.conversation_id = ${conversationId} and m.sender_id <> ${viewer}
      and m.seq > coalesce((select last_read_seq from read_markers where user_id = ${viewer} and conversation_id = ${conversationId}), 0)`;
  return row!.n;
}

async function listedUnread(user: TestUser, conversationId: number): Promise<number> {
  const res = await api(hub.url, 'GET', '/api/conversations', { cookie: user.cookie });
  return res.body.conversations.find((c: { id: number }) => c.id === conversationId).unread_count;
}

async function inbox(user: TestUser) {
  const c = await connectInbox(hub.url, user.cookie);
  open.push(c.socket);
  return c.socket;
}

const send = (s: ClientSocket, conversationId: number, text: string, clientMsgId?: string) =>
  request(s, 'message', { conversation_id: conversationId, message: text, type: 'TEXT', ...(clientMsgId ? { client_msg_id: clientMsgId } : {}) });

describe('unread_count from counters', () => {
  it('equals the row count for both members after single and batched sends, retries and reads', async () => {
    const [ann, bob] = await Promise.all([newUser(hub.url), newUser(hub.url)]);
    const conv = await newConversation(hub.url, ann, bob);
    const [a, b] = await Promise.all([inbox(ann), inbox(bob)]);
    /** Listed equals counted; `expected` where the interleaving of the burst cannot change it. */
    const check = async (expected?: { ann: number; bob: number }) => {
      const got = { ann: await listedUnread(ann, conv.id), bob: await listedUnread(bob, conv.id) };
      expect(got).toEqual({ ann: await countedUnread(ann.user.id, conv.id), bob: await countedUnread(bob.user.id, conv.id) });
      if (expected) expect(got).toEqual(expected);
      return got;
    };

    await send(a, conv.id, 'one');
    await check({ ann: 0, bob: 1 });
    // Sent together from both sockets: the writer stores them as batches holding both members' messages.
    const burst = await Promise.all([
      ...Array.from({ length: 30 }, (_, i) => send(a, conv.id, `a${i}`)),
      ...Array.from({ length: 20 }, (_, i) => send(b, conv.id, `b${i}`)),
    ]);
    expect(burst.every((r) => r.ok)).toBe(true);
    await check({ ann: 20, bob: 31 });
    // A retried client_msg_id is answered with the first copy and counted once, even inside a batch.
    const first = await send(b, conv.id, 'retry me', 'retry-1');
    const retries = await Promise.all([send(b, conv.id, 'retry me', 'retry-1'), send(a, conv.id, 'beside it'), send(b, conv.id, 'retry me', 'retry-1')]);
    expect(retries.map((r) => r.message.seq)).toEqual([first.message.seq, first.message.seq + 1, first.message.seq]);
    await check({ ann: 21, bob: 32 });

    // Reads in steps that fall among both members' messages (the burst interleaved them).
    expect(await request(b, 'read', { conversation_id: conv.id, seq: 10 })).toEqual({ ok: true });
    const after10 = await check();
    expect(after10.ann).toBe(21);
    expect(after10.bob).toBeLessThan(32);
    expect(await request(a, 'read', { conversation_id: conv.id, seq: 25 })).toEqual({ ok: true });
    expect(await request(b, 'read', { conversation_id: conv.id, seq: 40 })).toEqual({ ok: true });
    const stepped = await check();
    // A read below the marker moves nothing; a read to the end leaves nothing unread.
    expect(await request(a, 'read', { conversation_id: conv.id, seq: 3 })).toEqual({ ok: true });
    await check(stepped);
    const last = first.message.seq + 1;
    await Promise.all([request(a, 'read', { conversation_id: conv.id, seq: last }), request(b, 'read', { conversation_id: conv.id, seq: last })]);
    await check({ ann: 0, bob: 0 });
    await send(b, conv.id, 'after all reads');
    await check({ ann: 1, bob: 0 });
  });

  it('the migration backfills the counters of messages and markers stored before it', async () => {
    const [ann, bob] = await Promise.all([newUser(hub.url), newUser(hub.url)]);
    const conv = await newConversation(hub.url, ann, bob);
    const sql = hub.app.dbHandle.sql;
    // History as an older hub left it: rows and markers, no counters.
    await sql`
      insert into messages (conversation_id, seq, sender_id, body, type)
      select ${conv.id}, s, case when s % 3 = 0 then ${ann.user.id}::int else ${bob.user.id}::int end, 'x', 'TEXT' from generate_series(1, 40) s`;
    await sql`update conversations set last_seq = 40 where id = ${conv.id}`;
    await sql`insert into read_markers (user_id, conversation_id, last_read_seq) values (${ann.user.id}, ${conv.id}, 17), (${bob.user.id}, ${conv.id}, 31)`;
    const migration = readFileSync(new URL('../../src/db/migrations/0005_unread_counters.sql', import.meta.url), 'utf8');
    const backfill = migration.split('--> statement-breakpoint').filter((s) => /^\s*(--.*\n\s*)*UPDATE/i.test(s));
    expect(backfill).toHaveLength(2);
    for (const statement of backfill) await sql.unsafe(statement);
    // Ann (client) has 13 messages (every third seq), 5 of them at or below 17; Bob read to 31.
    const [c] = await sql<{ client_sent: number; worker_sent: number }[]>`select client_sent, worker_sent from conversations where id = ${conv.id}`;
    expect(c).toEqual({ client_sent: 13, worker_sent: 27 });
    expect(await listedUnread(ann, conv.id)).toBe(await countedUnread(ann.user.id, conv.id));
    expect(await listedUnread(bob, conv.id)).toBe(await countedUnread(bob.user.id, conv.id));
    expect([await listedUnread(ann, conv.id), await listedUnread(bob, conv.id)]).toEqual([40 - 17 - (13 - 5), 40 - 31 - (27 - 21)]);
  });

  it('db:recount repairs what a pod of the version before 0005 left (messages and reads without the counters)', async () => {
    const [ann, bob] = await Promise.all([newUser(hub.url), newUser(hub.url)]);
    const conv = await newConversation(hub.url, ann, bob);
    const a = await inbox(ann);
    for (let i = 0; i < 3; i++) await send(a, conv.id, `new pod ${i}`);
    const sql = hub.app.dbHandle.sql;
    // What an old pod does: the insert bumps last_seq only, the read moves last_read_seq only.
    // Ann's count would come out -3 (shown as 0) and Bob's 5.
    await sql`
      with c as (update conversations set last_seq = last_seq + 2 where id = ${conv.id} returning last_seq)
      insert into messages (conversation_id, seq, sender_id, body, type)
      select ${conv.id}::int, c.last_seq - 1, ${ann.user.id}::int, 'old pod', 'TEXT' from c
      union all select ${conv.id}::int, c.last_seq, ${bob.user.id}::int, 'old pod', 'TEXT' from c`;
    await sql`insert into read_markers (user_id, conversation_id, last_read_seq) values (${ann.user.id}, ${conv.id}, 5)`;
    // Ann read all 5, 4 of them her own: nothing unread. Bob read none: 4 of Ann's are unread.
    expect([await listedUnread(ann, conv.id), await listedUnread(bob, conv.id)]).toEqual([0, 5]);
    const counted = await recountUnreadCounters(sql);
    expect(counted.conversations).toBeGreaterThanOrEqual(1);
    expect(counted.markers).toBeGreaterThanOrEqual(1);
    expect([await listedUnread(ann, conv.id), await listedUnread(bob, conv.id)]).toEqual([0, 4]);
    expect([await countedUnread(ann.user.id, conv.id), await countedUnread(bob.user.id, conv.id)]).toEqual([0, 4]);
  });
});
