import { integer, pgTable, primaryKey, timestamp } from 'drizzle-orm/pg-core';
import { conversations } from './conversations.js';
import { sessions } from './sessions.js';
import { users } from './users.js';

/**
 * A user's delivered marker in a conversation: the highest over their sessions (a `read`
 * moves it too). Kept as its own row, apart from the per-session ones, so one guarded
 * upsert tells exactly whether it moved, across pods, without reading the sessions' rows.
 */
export const deliveredMarkers = pgTable(
  'delivered_markers',
  {
    userId: integer('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    conversationId: integer('conversation_id')
      .notNull()
      .references(() => conversations.id, { onDelete: 'cascade' }),
    deliveredSeq: integer('delivered_seq').notNull().default(0),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.conversationId] })],
);

/** One device's (session's) delivered marker: every message up to `delivered_seq` reached it. */
export const sessionDeliveredMarkers = pgTable(
  'session_delivered_markers',
  {
    sessionId: integer('session_id').notNull().references(() => sessions.id, { onDelete: 'cascade' }),
    conversationId: integer('conversation_id')
      .notNull()
      .references(() => conversations.id, { onDelete: 'cascade' }),
    deliveredSeq: integer('delivered_seq').notNull().default(0),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.sessionId, t.conversationId] })],
);
