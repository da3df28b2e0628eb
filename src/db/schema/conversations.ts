import { sql } from 'drizzle-orm';
import { check, index, integer, pgTable, timestamp, unique } from 'drizzle-orm/pg-core';
import { users } from './users.js';

export const conversations = pgTable(
  'conversations',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    clientId: integer('client_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    workerId: integer('worker_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    // The last seq handed out; bumped under the row lock so seqs stay gapless per conversation.
    lastSeq: integer('last_seq').notNull().default(0),
    // Messages each member has sent, bumped by the same statement as last_seq: with the read
    // marker's own count they give a member's unread count without counting messages.
    clientSent: integer('client_sent').notNull().default(0),
    workerSent: integer('worker_sent').notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    lastActivityAt: timestamp('last_activity_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    unique('conversations_pair_key').on(t.clientId, t.workerId),
    index('conversations_worker_id_idx').on(t.workerId),
    check('conversations_two_members', sql`${t.clientId} <> ${t.workerId}`),
  ],
);
