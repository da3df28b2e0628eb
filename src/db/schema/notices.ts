import { sql } from 'drizzle-orm';
import { bigserial, index, integer, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { users } from './users.js';

export const NOTICE_KINDS = ['job.completed', 'job.failed', 'job.cancelled'] as const;

/**
 * Told to a user about a job that ended while none of their sockets watched it. The unique
 * (job_id, kind) key makes it one notice per job end, whichever worker or pod stores it first.
 * Not tied to the job row: a notice outlives its job.
 */
export const notices = pgTable(
  'notices',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: NOTICE_KINDS }).notNull(),
    jobId: text('job_id').notNull(),
    title: text('title').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    readAt: timestamp('read_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('notices_job_kind_idx').on(t.jobId, t.kind),
    index('notices_user_id_idx').on(t.userId, t.id.desc()),
    // ready.unread_notices counts only these.
    index('notices_unread_idx').on(t.userId).where(sql`${t.readAt} is null`),
  ],
);
