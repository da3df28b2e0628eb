import type { PostgresError } from 'postgres';
import type { MessageType } from '../../schemas/common.js';
import type { Executor } from '../client.js';
import type { MessageRow } from '../rows.js';

/** A stored message joined with its sender's display fields. */
export type MessageRecord = MessageRow & { sender_name: string; sender_avatar: string | null };
/** A message just stored, with the conversation's other member (read from the row the insert locks anyway). */
export type StoredMessageRecord = MessageRecord & { recipient_id?: number };

export interface NewMessage {
  conversationId: number;
  senderId: number;
  body: string;
  type: MessageType;
  clientMsgId: string | null;
}

export type InsertOutcome = { status: 'stored' | 'duplicate'; record: StoredMessageRecord } | { status: 'no_conversation' };

const DUPLICATE_CLIENT_MSG_ID = 'messages_sender_client_msg_id_key';

/** What the inserts read back: the columns Postgres assigns, and the sender's display fields. */
type StoredRow = Pick<StoredMessageRecord, 'id' | 'conversation_id' | 'seq' | 'created_at' | 'sender_name' | 'sender_avatar' | 'recipient_id'>;

/**
 * The stored record from what Postgres assigned plus what was sent: the inserts return only
 * the columns they did not get from the caller (the body coming back is the driver's largest
 * parse per message, for bytes the hub already holds).
 */
const withInput = (r: StoredRow, m: NewMessage): StoredMessageRecord => ({
  id: r.id,
  conversation_id: r.conversation_id,
  seq: r.seq,
  sender_id: m.senderId,
  body: m.body,
  type: m.type,
  client_msg_id: m.clientMsgId,
  created_at: r.created_at,
  sender_name: r.sender_name,
  sender_avatar: r.sender_avatar,
  recipient_id: r.recipient_id,
});

/**
 * Stores a message in one statement: the conversation row's `last_seq` bump takes the
 * row lock that serialises concurrent senders, and a failed insert rolls the bump back,
 * so seqs stay gapless and in storage order.
 */
export async function insertMessage(sql: Executor, m: NewMessage): Promise<InsertOutcome> {
  try {
    const rows = await sql<StoredRow[]>`
      with c as (
        update conversations set last_seq = last_seq + 1, last_activity_at = now(),
          client_sent = client_sent + (client_id = ${m.senderId})::int, worker_sent = worker_sent + (worker_id = ${m.senderId})::int
        where id = ${m.conversationId} returning id, last_seq, client_id, worker_id
      ), ins as (
        insert into messages (conversation_id, seq, sender_id, body, type, client_msg_id)
        select c.id, c.last_seq, ${m.senderId}, ${m.body}, ${m.type}, ${m.clientMsgId} from c
        returning id, conversation_id, seq, created_at
      )
      select ins.*, u.name as sender_name, u.avatar_url as sender_avatar,
        (select case when c.client_id = ${m.senderId} then c.worker_id else c.client_id end from c) as recipient_id
      from ins join users u on u.id = ${m.senderId}`;
    return rows[0] ? { status: 'stored', record: withInput(rows[0], m) } : { status: 'no_conversation' };
  } catch (err) {
    if ((err as PostgresError).constraint_name !== DUPLICATE_CLIENT_MSG_ID || !m.clientMsgId) throw err;
    const existing = await findByClientMsgId(sql, m.senderId, m.clientMsgId);
    if (!existing) throw err;
    return { status: 'duplicate', record: existing };
  }
}

/**
 * Stores several messages in one statement and one commit (group commit): one round trip
 * and one WAL flush for the lot. Each conversation's `last_seq` is bumped once by its
 * count, and seqs are handed out in input order, so they stay gapless and in storage order.
 *
 * Seqs are numbered here rather than in SQL: window functions over CTEs left the planner
 * guessing one row and joining quadratically. A `client_msg_id` already stored makes the
 * whole statement fail with a unique violation and store nothing; the caller then stores
 * the batch one by one, which answers duplicates (retries are rare, batches are not).
 * Inputs for a conversation that does not exist come back as `no_conversation`.
 */
export async function insertMessages(sql: Executor, ms: readonly NewMessage[]): Promise<InsertOutcome[]> {
  const counts = new Map<number, { count: number; first: number; byFirst: number }>();
  const ranks = ms.map((m) => {
    const c = counts.get(m.conversationId) ?? { count: 0, first: m.senderId, byFirst: 0 };
    c.count += 1;
    if (m.senderId === c.first) c.byFirst += 1;
    counts.set(m.conversationId, c);
    return c.count;
  });
  // Ascending ids: rows are then locked in one order, so two pods' batches queue instead of deadlocking.
  const ids = [...counts.keys()].sort((a, b) => a - b);
  const per = ids.map((id) => counts.get(id)!);
  // Each member's sent count: a conversation has two members and only members send (the
  // service checks), so the messages not by the first sender seen are the other member's.
  const rows = await sql<StoredRow[]>`
    with bumped as (
      update conversations c set last_seq = c.last_seq + n.count, last_activity_at = now(),
        client_sent = c.client_sent + case when n.first_sender = c.client_id then n.by_first else n.count - n.by_first end,
        worker_sent = c.worker_sent + case when n.first_sender = c.worker_id then n.by_first else n.count - n.by_first end
      from unnest(${ids}::int[], ${per.map((c) => c.count)}::int[], ${per.map((c) => c.first)}::int[], ${per.map((c) => c.byFirst)}::int[])
        as n(id, count, first_sender, by_first)
      where c.id = n.id
      returning c.id, c.last_seq - n.count as base, c.client_id, c.worker_id
    ), ins as (
      insert into messages (conversation_id, seq, sender_id, body, type, client_msg_id)
      select i.conversation_id, b.base + i.rank, i.sender_id, i.body, i.type, i.client_msg_id
      from unnest(
        ${ms.map((m) => m.conversationId)}::int[], ${ranks}::int[], ${ms.map((m) => m.senderId)}::int[],
        ${ms.map((m) => m.body)}::text[], ${ms.map((m) => m.type)}::text[], ${ms.map((m) => m.clientMsgId)}::text[]
      ) with ordinality as i(conversation_id, rank, sender_id, body, type, client_msg_id, ord)
      join bumped b on b.id = i.conversation_id
      order by i.ord
      returning id, conversation_id, seq, sender_id, created_at
    )
    select ins.id, ins.conversation_id, ins.seq, ins.created_at, u.name as sender_name, u.avatar_url as sender_avatar,
      case when b.client_id = ins.sender_id then b.worker_id else b.client_id end as recipient_id
    from ins join users u on u.id = ins.sender_id join bumped b on b.id = ins.conversation_id`;
  const firstSeq = new Map<number, number>();
  for (const r of rows) firstSeq.set(r.conversation_id, Math.min(r.seq, firstSeq.get(r.conversation_id) ?? Infinity));
  const bySeq = new Map(rows.map((r) => [`${r.conversation_id}:${r.seq}`, r]));
  return ms.map((m, i): InsertOutcome => {
    const first = firstSeq.get(m.conversationId);
    const record = first === undefined ? undefined : bySeq.get(`${m.conversationId}:${first + ranks[i]! - 1}`);
    return record ? { status: 'stored', record: withInput(record, m) } : { status: 'no_conversation' };
  });
}

async function findByClientMsgId(sql: Executor, senderId: number, clientMsgId: string): Promise<MessageRecord | null> {
  const rows = await sql<MessageRecord[]>`
    select m.*, u.name as sender_name, u.avatar_url as sender_avatar
    from messages m join users u on u.id = m.sender_id
    where m.sender_id = ${senderId} and m.client_msg_id = ${clientMsgId}`;
  return rows[0] ?? null;
}

/** Up to `limit + 1` messages below `beforeSeq`, newest first (the extra row tells `has_more`). */
export function listBefore(sql: Executor, conversationId: number, beforeSeq: number | null, limit: number): Promise<MessageRecord[]> {
  return sql<MessageRecord[]>`
    select m.*, u.name as sender_name, u.avatar_url as sender_avatar
    from messages m join users u on u.id = m.sender_id
    where m.conversation_id = ${conversationId} ${beforeSeq === null ? sql`` : sql`and m.seq < ${beforeSeq}`}
    order by m.seq desc limit ${limit + 1}`;
}

/**
 * Messages after each cursor, in storage order across conversations (id order matches seq
 * order inside one conversation because both are assigned under the same row lock).
 * Only conversations the user is a member of are read.
 */
export function listAfterCursors(
  sql: Executor,
  userId: number,
  cursors: ReadonlyArray<readonly [number, number]>,
  limit: number,
): Promise<MessageRecord[]> {
  const ids = cursors.map(([id]) => id);
  const afters = cursors.map(([, after]) => after);
  return sql<MessageRecord[]>`
    select m.*, u.name as sender_name, u.avatar_url as sender_avatar
    from unnest(${ids}::int[], ${afters}::int[]) as cur(conversation_id, after_seq)
    join conversations c on c.id = cur.conversation_id
      and (c.client_id = ${userId} or c.worker_id = ${userId})
    join messages m on m.conversation_id = cur.conversation_id and m.seq > cur.after_seq
    join users u on u.id = m.sender_id
    order by m.id limit ${limit + 1}`;
}

/** A batch of a conversation's messages after `afterSeq`, for streaming exports. */
export function listBatchAfter(sql: Executor, conversationId: number, afterSeq: number, limit: number): Promise<MessageRecord[]> {
  return sql<MessageRecord[]>`
    select m.*, u.name as sender_name, u.avatar_url as sender_avatar
    from messages m join users u on u.id = m.sender_id
    where m.conversation_id = ${conversationId} and m.seq > ${afterSeq}
    order by m.seq limit ${limit}`;
}
