import { sql } from 'drizzle-orm';
import { bigint, index, integer, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { conversations } from './conversations.js';
import { users } from './users.js';

/**
 * One offline notification: the messages of one conversation a user had unread when the
 * worker first tried to notify them. The body is stored (as the exact text that is signed)
 * before the first POST, so every retry sends the same bytes; `sent_at` is set once the
 * receiver accepted it, and a batch with `sent_at` set is never sent again.
 */
export const notifyBatches = pgTable(
  'notify_batches',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    userId: integer('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    conversationId: integer('conversation_id')
      .notNull()
      .references(() => conversations.id, { onDelete: 'cascade' }),
    firstSeq: integer('first_seq').notNull(),
    lastSeq: integer('last_seq').notNull(),
    body: text('body').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    sentAt: timestamp('sent_at', { withTimezone: true }),
  },
  (t) => [
    // At most one batch per (user, conversation) not yet accepted: two workers cannot open two.
    uniqueIndex('notify_batches_open_key').on(t.userId, t.conversationId).where(sql`${t.sentAt} is null`),
    // The latest batch of a pair: where the next one starts.
    index('notify_batches_pair_idx').on(t.userId, t.conversationId, t.lastSeq.desc()),
  ],
);
