import type { Executor } from '../client.js';
import type { NoticeRow } from '../rows.js';

/** A user's notices with `id < beforeId` (or the latest), newest first, and whether older ones exist. */
export async function listNotices(sql: Executor, userId: number, beforeId: number | undefined, limit: number): Promise<{ rows: NoticeRow[]; hasMore: boolean }> {
  const rows = await sql<NoticeRow[]>`
    select * from notices
    where user_id = ${userId} ${beforeId === undefined ? sql`` : sql`and id < ${beforeId}`}
    order by id desc limit ${limit + 1}`;
  return { rows: rows.slice(0, limit), hasMore: rows.length > limit };
}

/** Marks the user's unread notices with `id <= upToId` read; returns how many changed. */
export async function markNoticesRead(sql: Executor, userId: number, upToId: number): Promise<number> {
  const result = await sql`
    update notices set read_at = clock_timestamp()
    where user_id = ${userId} and id <= ${upToId} and read_at is null`;
  return result.count;
}
