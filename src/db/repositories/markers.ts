import type { Executor } from '../client.js';

/** One `read` or `delivered` of one socket, as the marker writer batches them. */
export interface MarkerUpdate {
  userId: number;
  /** The device's session; null when the caller has none (its per-session marker is then not kept). */
  sessionId: number | null;
  conversationId: number;
  seq: number;
  /** A `read` moves the read marker and, like a `delivered`, the delivered markers. */
  read: boolean;
}

/** Per (user, conversation) of a batch: where the conversation stood, and which markers moved. */
export interface MarkerOutcome {
  userId: number;
  conversationId: number;
  /** The conversation's last seq, or null when the user is not one of its members. */
  lastSeq: number | null;
  /** The user's delivered marker, when this statement moved it; else null. */
  delivered: number | null;
  /** The user's read marker, when this statement moved it; else null. */
  read: number | null;
}

/**
 * Applies a batch of marker updates in one statement (one round trip, one commit) and says,
 * per (user, conversation), the conversation's `last_seq` and which of the user's markers moved.
 *
 * Only updates of members with `0 < seq <= last_seq` are applied (the caller answers the others),
 * and every marker only moves forward: each upsert is guarded by `where stored < new`, and ON
 * CONFLICT evaluates that guard on the latest committed row (it waits for a concurrent pod's
 * statement), so "moved" is exact across pods and each move is reported by one statement only.
 * The delivered markers are the highest seq over updates of both kinds; rows go in in
 * (conversation, user) order so that concurrent batches lock in one order. `is_read` travels as
 * 0/1: postgres.js sends a JS boolean[] parameter as a single boolean.
 *
 * `own_read` (the reader's own messages at or below the marker) moves with the marker by the
 * reader's messages between the old and the new seq, counted once, from the row ON CONFLICT
 * locked (`t`). The insert's own value is counted only for a marker this statement saw no row
 * of (markers are never deleted but with their user or conversation); when another pod
 * inserted it meanwhile, ON CONFLICT counts from that row instead.
 */
export async function advanceMarkers(sql: Executor, updates: readonly MarkerUpdate[]): Promise<MarkerOutcome[]> {
  return sql<MarkerOutcome[]>`
    with i as (
      select * from unnest(
        ${updates.map((u) => u.userId)}::int[], ${updates.map((u) => u.sessionId)}::int[],
        ${updates.map((u) => u.conversationId)}::int[], ${updates.map((u) => u.seq)}::int[], ${updates.map((u) => (u.read ? 1 : 0))}::int[]
      ) as i(user_id, session_id, conversation_id, seq, is_read)
    ), k as (
      select distinct user_id, conversation_id from i
    ), m as (
      select k.user_id, k.conversation_id, c.last_seq from k
      join conversations c on c.id = k.conversation_id and (c.client_id = k.user_id or c.worker_id = k.user_id)
    ), ok as (
      select i.* from i join m using (user_id, conversation_id) where i.seq > 0 and i.seq <= m.last_seq
    ), s as (
      insert into session_delivered_markers as t (session_id, conversation_id, delivered_seq)
      select ok.session_id, ok.conversation_id, max(ok.seq) from ok join sessions on sessions.id = ok.session_id
      group by ok.session_id, ok.conversation_id order by ok.conversation_id, ok.session_id
      on conflict (session_id, conversation_id) do update set delivered_seq = excluded.delivered_seq, updated_at = now()
        where t.delivered_seq < excluded.delivered_seq
    ), d as (
      insert into delivered_markers as t (user_id, conversation_id, delivered_seq)
      select user_id, conversation_id, max(seq) from ok
      group by user_id, conversation_id order by conversation_id, user_id
      on conflict (user_id, conversation_id) do update set delivered_seq = excluded.delivered_seq, updated_at = now()
        where t.delivered_seq < excluded.delivered_seq
      returning user_id, conversation_id, delivered_seq
    ), r as (
      insert into read_markers as t (user_id, conversation_id, last_read_seq, own_read)
      select n.user_id, n.conversation_id, n.seq,
        case when e.user_id is null then (select count(*)::int from messages x where x.conversation_id = n.conversation_id
          and x.sender_id = n.user_id and x.seq <= n.seq) else 0 end
      from (select user_id, conversation_id, max(seq) as seq from ok where is_read = 1 group by user_id, conversation_id) n
      left join read_markers e on e.user_id = n.user_id and e.conversation_id = n.conversation_id
      order by n.conversation_id, n.user_id
      on conflict (user_id, conversation_id) do update set last_read_seq = excluded.last_read_seq, updated_at = now(),
        own_read = t.own_read + (select count(*)::int from messages x where x.conversation_id = t.conversation_id
          and x.sender_id = t.user_id and x.seq > t.last_read_seq and x.seq <= excluded.last_read_seq)
        where t.last_read_seq < excluded.last_read_seq
      returning user_id, conversation_id, last_read_seq
    )
    select k.user_id as "userId", k.conversation_id as "conversationId", m.last_seq as "lastSeq",
      d.delivered_seq as delivered, r.last_read_seq as read
    from k
    left join m using (user_id, conversation_id)
    left join d using (user_id, conversation_id)
    left join r using (user_id, conversation_id)`;
}
