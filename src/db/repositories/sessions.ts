import type { Executor } from '../client.js';
import type { SessionRow, UserRow } from '../rows.js';

export async function insertSession(
  sql: Executor,
  session: { tokenHash: string; userId: number; expiresAt: Date },
): Promise<SessionRow> {
  const [row] = await sql<SessionRow[]>`
    insert into sessions (token_hash, user_id, expires_at)
    values (${session.tokenHash}, ${session.userId}, ${session.expiresAt})
    returning *`;
  return row!;
}

type SessionWithUser = SessionRow & {
  email: string;
  name: string;
  avatar_url: string | null;
  password_hash: string;
  user_created_at: Date;
  conversation_ids?: number[];
};

/** A live session with its user and, when asked, the ids of every conversation the user is in (ascending). */
export interface LiveSession {
  session: SessionRow;
  user: UserRow;
  conversationIds?: number[];
}

/**
 * The live (not revoked, not expired) session for a token hash, with its user: one indexed
 * read. With `conversationIds` the same statement also gathers the user's conversation ids
 * (the two indexed lookups of `listIdsForUser`), so a socket's handshake is one round trip.
 */
export async function findLiveSession(sql: Executor, tokenHash: string, opts: { conversationIds?: boolean } = {}): Promise<LiveSession | null> {
  const ids = opts.conversationIds
    ? sql`, array(
        select id from conversations where client_id = s.user_id
        union all
        select id from conversations where worker_id = s.user_id
        order by 1) as conversation_ids`
    : sql``;
  const [row] = await sql<SessionWithUser[]>`
    select s.*, u.email, u.name, u.avatar_url, u.password_hash, u.created_at as user_created_at ${ids}
    from sessions s join users u on u.id = s.user_id
    where s.token_hash = ${tokenHash} and s.revoked_at is null and s.expires_at > now()
    limit 1`;
  if (!row) return null;
  const { email, name, avatar_url, password_hash, user_created_at, conversation_ids, ...session } = row;
  const user = { id: session.user_id, email, name, avatar_url, password_hash, created_at: user_created_at };
  return conversation_ids ? { session, user, conversationIds: conversation_ids } : { session, user };
}

export async function extendSession(sql: Executor, id: number, expiresAt: Date): Promise<void> {
  await sql`update sessions set expires_at = ${expiresAt} where id = ${id}`;
}

export async function revokeSession(sql: Executor, id: number): Promise<void> {
  await sql`update sessions set revoked_at = now() where id = ${id} and revoked_at is null`;
}

/** Revokes every live session of a user but one; returns the ids it revoked. */
export async function revokeOtherSessions(sql: Executor, userId: number, keepId: number): Promise<number[]> {
  const rows = await sql<{ id: number }[]>`
    update sessions set revoked_at = now()
    where user_id = ${userId} and id <> ${keepId} and revoked_at is null
    returning id`;
  return rows.map((r) => r.id);
}

/** Of `ids`, those still live (not revoked, not expired): one statement for a whole pod's sockets. */
export async function liveSessionIds(sql: Executor, ids: readonly number[]): Promise<Set<number>> {
  if (ids.length === 0) return new Set();
  const rows = await sql<{ id: number }[]>`
    select id from sessions
    where id = any(${[...ids]}::int[]) and revoked_at is null and expires_at > now()`;
  return new Set(rows.map((r) => r.id));
}
