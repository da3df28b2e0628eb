import { integer, pgTable, primaryKey, timestamp } from 'drizzle-orm/pg-core';
import { conversations } from './conversations.js';
import { users } from './users.js';

export const readMarkers = pgTable(
  'read_markers',
  {
    userId: integer('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    conversationId: integer('conversation_id')
      .notNull()
      .references(() => conversations.id, { onDelete: 'cascade' }),
    lastReadSeq: integer('last_read_seq').notNull().default(0),
    // The user's own messages with seq <= last_read_seq: unread = (last_seq - last_read_seq)
    // - (sent - own_read), so a connect's unread counts cost no scan of the backlog.
    ownRead: integer('own_read').notNull().default(0),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.conversationId] })],
);
