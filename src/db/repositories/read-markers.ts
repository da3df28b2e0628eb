import type { Executor } from '../client.js';

/**
 * Moves a member's read marker forward (never back, never past the last message).
 * Returns the marker now stored, or null when the user is not a member.
 */
export async function advanceReadMarker(sql: Executor, userId: number, conversationId: number, seq: number): Promise<number | null> {
  const rows = await sql<{ last_read_seq: number }[]>`
    insert into read_markers (user_id, conversation_id, last_read_seq)
    select ${userId}, c.id, least(${seq}, c.last_seq) from conversations c
    where c.id = ${conversationId} and (c.client_id = ${userId} or c.worker_id = ${userId})
    on conflict (user_id, conversation_id) do update
      set last_read_seq = greatest(read_markers.last_read_seq, excluded.last_read_seq), updated_at = now()
    returning last_read_seq`;
  return rows[0]?.last_read_seq ?? null;
}
