import { integer, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { jobs } from './jobs.js';

/**
 * A job's output: chunks with gapless offsets 0, 1, 2, ... per job, handed out from
 * `jobs.output_count` in the statement that stores them. Removed with the job.
 */
export const jobOutput = pgTable(
  'job_output',
  {
    jobId: text('job_id')
      .notNull()
      .references(() => jobs.id, { onDelete: 'cascade' }),
    offset: integer('offset').notNull(),
    data: text('data').notNull(),
  },
  (t) => [primaryKey({ columns: [t.jobId, t.offset] })],
);
