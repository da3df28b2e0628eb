import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InsertOutcome } from '../../src/db/repositories/messages.js';
import { MessageWriter } from '../../src/domain/message-writer.js';
import type { MessageDto } from '../../src/realtime/protocol.js';
import { createIsolatedDatabase, type IsolatedDatabase } from '../helpers/database.js';

// The group-commit writer straight against Postgres (its own database, so counts are exact).
let db: IsolatedDatabase;
let users: number[];
let conversations: number[];
beforeAll(async () => {
  db = await createIsolatedDatabase('writer');
  const inserted = await db.sql<{ id: number }[]>`
    insert into users (email, name, password_hash)
    select 'w' || g || '@example.test', 'W' || g, 'x' from generate_series(1, 4) g returning id`;
  users = inserted.map((u) => u.id);
  const convs = await db.sql<{ id: number }[]>`
    insert into conversations (client_id, worker_id)
    values (${users[0]!}, ${users[1]!}), (${users[0]!}, ${users[2]!}), (${users[3]!}, ${users[1]!}) returning id`;
  conversations = convs.map((c) => c.id);
});
afterAll(() => db?.drop());

const seqOf = (o: InsertOutcome) => (o.status === 'no_conversation' ? -1 : o.record.seq);

describe('MessageWriter', () => {
  it('batches concurrent messages; seqs are gapless in arrival order per conversation; the publisher gets them in seq order', async () => {
    const stored: Record<number, number[]> = {};
    const publisher = { message: (m: MessageDto) => void (stored[m.conversation_id] ??= []).push(m.seq) };
    const writer = new MessageWriter(db.sql, publisher, { maxInFlight: 2, maxBatch: 16 });
    const writes = Array.from({ length: 120 }, (_, i) => {
      const conversationId = conversations[i % 3]!;
      return writer.write({ conversationId, senderId: users[i % 3 === 2 ? 3 : 0]!, body: `m${i}`, type: 'TEXT', clientMsgId: null });
    });
    const outcomes = await Promise.all(writes);
    for (const [k, conversationId] of conversations.entries()) {
      const mine = outcomes.filter((_, i) => i % 3 === k);
      expect(mine.map(seqOf)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      expect(stored[conversationId]).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    }
    const [commits] = await db.sql`select count(*)::int as n from messages`;
    expect(commits!.n).toBe(120);
  });

  it('a retried client_msg_id in flight or already stored returns the first copy; the rest of its batch is stored', async () => {
    const writer = new MessageWriter(db.sql, { message: () => {} });
    const conversationId = conversations[1]!;
    const first = await writer.write({ conversationId, senderId: users[0]!, body: 'once', type: 'TEXT', clientMsgId: 'dup-1' });
    expect(first.status).toBe('stored');
    const batch = await Promise.all([
      writer.write({ conversationId, senderId: users[0]!, body: 'once', type: 'TEXT', clientMsgId: 'dup-1' }),
      writer.write({ conversationId, senderId: users[2]!, body: 'other', type: 'TEXT', clientMsgId: 'x-1' }),
      writer.write({ conversationId, senderId: users[2]!, body: 'other', type: 'TEXT', clientMsgId: 'x-1' }),
      writer.write({ conversationId: 2_000_000_000, senderId: users[2]!, body: 'nowhere', type: 'TEXT', clientMsgId: null }),
    ]);
    expect(batch.map((o) => o.status)).toEqual(['duplicate', 'stored', 'duplicate', 'no_conversation']);
    expect(batch[0]!.status !== 'no_conversation' && batch[0]!.record.id).toBe(first.status !== 'no_conversation' && first.record.id);
    expect(seqOf(batch[2]!)).toBe(seqOf(batch[1]!));
    const rows = await db.sql`select seq from messages where conversation_id = ${conversationId} order by seq`;
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 42 }, (_, i) => i + 1));
  });
});
