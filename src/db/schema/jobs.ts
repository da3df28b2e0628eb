import { sql } from 'drizzle-orm';
import { index, integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { JOB_STATES } from '../../schemas/common.js';
import { users } from './users.js';

/** The ownership record and latest snapshot of a job; written before the job is enqueued. */
export const jobs = pgTable(
  'jobs',
  {
    id: text('id').primaryKey(),
    ownerId: integer('owner_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    data: jsonb('data').notNull(),
    state: text('state', { enum: JOB_STATES }).notNull(),
    progress: integer('progress').notNull().default(0),
    statusText: text('status_text'),
    result: jsonb('result'),
    error: text('error'),
    attemptsMade: integer('attempts_made').notNull().default(0),
    // Grows with every change, so watchers can drop updates they have already seen.
    seq: integer('seq').notNull().default(0),
    // Output chunks stored so far: the next chunk's offset (job_output), bumped in the statement that stores them.
    outputCount: integer('output_count').notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('jobs_owner_created_idx').on(t.ownerId, t.createdAt.desc()),
    // The reconciler's scan: only live jobs, however many finished ones pile up.
    // The per-owner queued count of MAX_QUEUED_JOBS_PER_USER, read at every enqueue.
    index('jobs_owner_queued_idx').on(t.ownerId).where(sql`${t.state} in ('waiting', 'delayed')`),
    index('jobs_live_updated_idx').on(t.updatedAt).where(sql`${t.state} in ('waiting', 'delayed', 'active')`),
  ],
);
