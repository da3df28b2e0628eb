import type { Executor } from '../client.js';
import type { NotifyBatchRow } from '../rows.js';
import type { MessageRecord } from './messages.js';

/** The messages of one conversation a user has not read and no batch has covered yet. */
export interface Unnotified {
  unread_count: number;
  first_seq: number;
  first_at: Date;
  last_seq: number;
}

/** The pair's batch not yet accepted by the receiver, if any (at most one: notify_batches_open_key). */
export async function findOpenBatch(sql: Executor, userId: number, conversationId: number): Promise<NotifyBatchRow | null> {
  const rows = await sql<NotifyBatchRow[]>`
    select * from notify_batches where user_id = ${userId} and conversation_id = ${conversationId} and sent_at is null`;
  return rows[0] ?? null;
}

/**
 * The other member's messages above both the user's read marker and the last batch of the pair;
 * null when there are none (or the user is not a member). One statement over the seq index.
 */
export async function findUnnotified(sql: Executor, userId: number, conversationId: number): Promise<Unnotified | null> {
  const [row] = await sql<(Unnotified & { unread_count: number })[]>`
    select count(*)::int as unread_count, min(m.seq) as first_seq, min(m.created_at) as first_at, max(m.seq) as last_seq
    from conversations c
    join messages m on m.conversation_id = c.id and m.sender_id <> ${userId}
      and m.seq > greatest(
        coalesce((select last_read_seq from read_markers where user_id = ${userId} and conversation_id = c.id), 0),
        coalesce((select max(last_seq) from notify_batches where user_id = ${userId} and conversation_id = c.id), 0))
    where c.id = ${conversationId} and (c.client_id = ${userId} or c.worker_id = ${userId})`;
  return row && row.unread_count > 0 ? row : null;
}

export async function findMessageRecord(sql: Executor, conversationId: number, seq: number): Promise<MessageRecord | null> {
  const rows = await sql<MessageRecord[]>`
    select m.*, u.name as sender_name, u.avatar_url as sender_avatar
    from messages m join users u on u.id = m.sender_id
    where m.conversation_id = ${conversationId} and m.seq = ${seq}`;
  return rows[0] ?? null;
}

/** Opens the pair's batch with its body; when another worker opened one first, that one is returned. */
export async function openBatch(
  sql: Executor,
  batch: { userId: number; conversationId: number; firstSeq: number; lastSeq: number; body: string },
): Promise<NotifyBatchRow> {
  const [inserted] = await sql<NotifyBatchRow[]>`
    insert into notify_batches (user_id, conversation_id, first_seq, last_seq, body)
    values (${batch.userId}, ${batch.conversationId}, ${batch.firstSeq}, ${batch.lastSeq}, ${batch.body})
    on conflict (user_id, conversation_id) where sent_at is null do nothing
    returning *`;
  return inserted ?? (await findOpenBatch(sql, batch.userId, batch.conversationId))!;
}

export async function markBatchSent(sql: Executor, id: number): Promise<void> {
  await sql`update notify_batches set sent_at = now() where id = ${id} and sent_at is null`;
}

/** The user's conversations with messages from the other member above the read marker. */
export async function conversationsWithUnread(sql: Executor, userId: number): Promise<number[]> {
  const rows = await sql<{ id: number }[]>`
    select c.id from conversations c
    left join read_markers rm on rm.user_id = ${userId} and rm.conversation_id = c.id
    where (c.client_id = ${userId} or c.worker_id = ${userId})
      and exists (select 1 from messages m where m.conversation_id = c.id and m.sender_id <> ${userId}
        and m.seq > coalesce(rm.last_read_seq, 0))`;
  return rows.map((r) => r.id);
}
