import type { Table } from 'drizzle-orm';
import type { jobs, messages, notices, notifyBatches, sessions, users } from './schema/index.js';

type Columns<T extends Table> = T['_']['columns'];

/**
 * A row as postgres.js returns it: every column under its SQL (snake_case) name, typed from
 * the drizzle table (`$inferSelect`), so the schema is the one place a row's shape is written.
 * Repositories return these (joined with what a query adds), never hand-written copies.
 */
export type Row<T extends Table> = {
  [K in keyof Columns<T> as Columns<T>[K]['_']['name']]: T['$inferSelect'][K & keyof T['$inferSelect']];
};

export type UserRow = Row<typeof users>;
export type SessionRow = Row<typeof sessions>;
export type MessageRow = Row<typeof messages>;
export type JobRow = Row<typeof jobs>;
export type NoticeRow = Row<typeof notices>;
export type NotifyBatchRow = Row<typeof notifyBatches>;
