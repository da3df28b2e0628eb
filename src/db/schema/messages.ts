import { sql } from 'drizzle-orm';
import { check, integer, pgTable, text, timestamp, unique } from 'drizzle-orm/pg-core';
import { MESSAGE_TYPES } from '../../schemas/common.js';
import { conversations } from './conversations.js';
import { users } from './users.js';

export const messages = pgTable(
  'messages',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    conversationId: integer('conversation_id')
      .notNull()
      .references(() => conversations.id, { onDelete: 'cascade' }),
    seq: integer('seq').notNull(),
    senderId: integer('sender_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    body: text('body').notNull(),
    type: text('type', { enum: MESSAGE_TYPES }).notNull(),
    clientMsgId: text('client_msg_id'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // Serves history and sync (conversation_id, seq ranges) as well as uniqueness.
    unique('messages_conversation_seq_key').on(t.conversationId, t.seq),
    unique('messages_sender_client_msg_id_key').on(t.senderId, t.clientMsgId),
    // Renders as the committed migration's `in ('TEXT', 'IMAGE', 'FILE')`.
    check('messages_type_check', sql`${t.type} in (${sql.raw(MESSAGE_TYPES.map((type) => `'${type}'`).join(', '))})`),
  ],
);
