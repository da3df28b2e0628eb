import type { MessageType } from '../../schemas/common.js';
import type { Executor } from '../client.js';

/**
 * A conversation as read for one viewer: both members (never their emails, which only their
 * owners may see), its last message, the viewer's unread count and read marker, and the other
 * member's read and delivered markers.
 */
export interface ConversationView {
  id: number;
  created_at: Date;
  client_id: number; client_name: string; client_avatar: string | null;
  worker_id: number; worker_name: string; worker_avatar: string | null;
  unread_count: number;
  last_seq: number;
  read_seq: number;
  peer_read_seq: number;
  peer_delivered_seq: number;
  lm_id: number | null; lm_seq: number | null; lm_sender_id: number | null; lm_sender_name: string | null;
  lm_sender_avatar: string | null; lm_body: string | null; lm_type: MessageType | null;
  lm_created_at: Date | null; lm_client_msg_id: string | null;
}

// A read counts as delivered: the peer's delivered marker is never shown below their read one
// (read markers stored before delivered markers existed have no delivered row). The unread
// count is arithmetic on counters (seqs are gapless: last_seq - read_seq messages lie above the
// marker, of which sent - own_read are the viewer's own), not a count of the backlog: a
// connect with thousands of unread messages costs what one with none does. Never below 0:
// counters left behind by a pod of the version before them (see recountUnreadCounters) must
// not show a negative count.
const selectViews = (sql: Executor, viewerId: number) => sql`
  select c.id, c.created_at,
    cu.id as client_id, cu.name as client_name, cu.avatar_url as client_avatar,
    wu.id as worker_id, wu.name as worker_name, wu.avatar_url as worker_avatar,
    greatest(0, (c.last_seq - coalesce(rm.last_read_seq, 0))
      - (case when c.client_id = ${viewerId} then c.client_sent else c.worker_sent end - coalesce(rm.own_read, 0))) as unread_count,
    c.last_seq, coalesce(rm.last_read_seq, 0) as read_seq, coalesce(prm.last_read_seq, 0) as peer_read_seq,
    greatest(coalesce(pdm.delivered_seq, 0), coalesce(prm.last_read_seq, 0)) as peer_delivered_seq,
    lm.id as lm_id, lm.seq as lm_seq, lm.sender_id as lm_sender_id, lu.name as lm_sender_name,
    lu.avatar_url as lm_sender_avatar, lm.body as lm_body, lm.type as lm_type,
    lm.created_at as lm_created_at, lm.client_msg_id as lm_client_msg_id
  from conversations c
  join users cu on cu.id = c.client_id
  join users wu on wu.id = c.worker_id
  left join read_markers rm on rm.user_id = ${viewerId} and rm.conversation_id = c.id
  left join read_markers prm on prm.conversation_id = c.id
    and prm.user_id = case when c.client_id = ${viewerId} then c.worker_id else c.client_id end
  left join delivered_markers pdm on pdm.conversation_id = c.id
    and pdm.user_id = case when c.client_id = ${viewerId} then c.worker_id else c.client_id end
  left join messages lm on lm.conversation_id = c.id and lm.seq = c.last_seq
  left join users lu on lu.id = lm.sender_id`;

/** Every conversation of a user, most recent activity first, in one query. */
export function listViewsForUser(sql: Executor, userId: number): Promise<ConversationView[]> {
  return sql<ConversationView[]>`
    ${selectViews(sql, userId)}
    where c.client_id = ${userId} or c.worker_id = ${userId}
    order by c.last_activity_at desc, c.id desc`;
}

export async function findView(sql: Executor, id: number, viewerId: number): Promise<ConversationView | null> {
  const rows = await sql<ConversationView[]>`${selectViews(sql, viewerId)} where c.id = ${id}`;
  return rows[0] ?? null;
}

export async function findPairId(sql: Executor, clientId: number, workerId: number): Promise<number | null> {
  const rows = await sql<{ id: number }[]>`
    select id from conversations where client_id = ${clientId} and worker_id = ${workerId}`;
  return rows[0]?.id ?? null;
}

/** Inserts the pair's conversation unless it exists; `created` says which happened. */
export async function insertOrGetPair(
  sql: Executor,
  clientId: number,
  workerId: number,
): Promise<{ id: number; created: boolean }> {
  const inserted = await sql<{ id: number }[]>`
    insert into conversations (client_id, worker_id) values (${clientId}, ${workerId})
    on conflict (client_id, worker_id) do nothing returning id`;
  if (inserted[0]) return { id: inserted[0].id, created: true };
  const [existing] = await sql<{ id: number }[]>`
    select id from conversations where client_id = ${clientId} and worker_id = ${workerId}`;
  return { id: existing!.id, created: false };
}

/** What a socket's `ready` carries from Postgres: every conversation id, and the most recent ones in full. */
export interface InboxSnapshotRows {
  /** Ascending. */
  ids: number[];
  /** Most recent activity first, at most `limit`. */
  views: ConversationView[];
  /** The user's notices with `read_at` null. */
  unreadNotices: number;
  /** Every user sharing a conversation with this one, ascending (for presence). */
  peerIds: number[];
}

/**
 * Every conversation id of a user and the `limit` most recently active ones as views, in one
 * statement (one snapshot of the database, one round trip): a row per view, and the ids as one
 * array on the first row (a row per id would cost the driver a parse of every view column,
 * null, for each conversation beyond `limit`).
 */
export async function snapshotForUser(sql: Executor, userId: number, limit: number): Promise<InboxSnapshotRows> {
  // The unread count is one more column of the same statement: `counts` always has its one
  // row, so a user without conversations still gets it (on a row whose view columns are null).
  const rows = await sql<Array<ConversationView & { all_ids: number[] | null; all_peers: number[] | null; unread_notices: number; rank: string | null }>>`
    with mine as (
      select id, last_activity_at, worker_id as peer from conversations where client_id = ${userId}
      union all
      select id, last_activity_at, client_id as peer from conversations where worker_id = ${userId}
    ), top as (
      select id, row_number() over (order by last_activity_at desc, id desc) as rank
      from mine order by last_activity_at desc, id desc limit ${limit}
    ), counts as (
      select count(*)::int as unread_notices from notices where user_id = ${userId} and read_at is null
    )
    select v.*, t.rank,
      case when t.rank = 1 then (select array_agg(id order by id) from mine) end as all_ids,
      case when t.rank = 1 then (select array_agg(distinct peer order by peer) from mine) end as all_peers,
      counts.unread_notices
    from counts
    left join (top t join lateral (${selectViews(sql, userId)} where c.id = t.id) v on true) on true
    order by t.rank`;
  const ids = rows[0]?.all_ids ?? [];
  const peerIds = rows[0]?.all_peers ?? [];
  const unreadNotices = rows[0]?.unread_notices ?? 0;
  const views = rows
    .filter((r) => r.rank !== null)
    .map(({ all_ids: _ids, all_peers: _peers, unread_notices: _n, rank: _r, ...view }) => view as ConversationView);
  return { ids, peerIds, views, unreadNotices };
}

/** Ids of the conversations a user is in, as client or as worker. */
export async function listIdsForUser(sql: Executor, userId: number): Promise<number[]> {
  const rows = await sql<{ id: number }[]>`
    select id from conversations where client_id = ${userId}
    union all
    select id from conversations where worker_id = ${userId}`;
  return rows.map((r) => r.id).sort((a, b) => a - b);
}

/** Every user sharing a conversation with this one (presence's peers), ascending. */
export async function listPeerIds(sql: Executor, userId: number): Promise<number[]> {
  const rows = await sql<{ peer: number }[]>`
    select worker_id as peer from conversations where client_id = ${userId}
    union
    select client_id as peer from conversations where worker_id = ${userId}`;
  return rows.map((r) => r.peer).sort((a, b) => a - b);
}

/** The last seq handed out in a conversation (0 when it has none, or does not exist). */
export async function lastSeq(sql: Executor, conversationId: number): Promise<number> {
  const rows = await sql<{ last_seq: number }[]>`select last_seq from conversations where id = ${conversationId}`;
  return rows[0]?.last_seq ?? 0;
}

export async function isMember(sql: Executor, conversationId: number, userId: number): Promise<boolean> {
  const rows = await sql`
    select 1 from conversations
    where id = ${conversationId} and (client_id = ${userId} or worker_id = ${userId})`;
  return rows.length > 0;
}

/**
 * Recomputes the unread counters (what each member has sent, and how many of a reader's own
 * messages lie at or below their marker) from the rows, as migration 0005 first did. Needed
 * once after a rolling update onto 0005: pods of the version before store messages and move
 * markers without them. Each statement locks the rows it sets.
 */
export async function recountUnreadCounters(sql: Executor): Promise<{ conversations: number; markers: number }> {
  const conversations = await sql`
    update conversations c set
      client_sent = (select count(*) from messages m where m.conversation_id = c.id and m.sender_id = c.client_id),
      worker_sent = (select count(*) from messages m where m.conversation_id = c.id and m.sender_id = c.worker_id)`;
  const markers = await sql`
    update read_markers r set
      own_read = (select count(*) from messages m where m.conversation_id = r.conversation_id and m.sender_id = r.user_id and m.seq <= r.last_read_seq)`;
  return { conversations: conversations.count, markers: markers.count };
}
