import type { FastifyBaseLogger } from 'fastify';
import { conversationIdsOf } from '../../domain/conversations.js';
import { missedSince } from '../../domain/messages.js';
import { forbidden } from '../../errors.js';
import { syncPayload } from '../../schemas/socket.js';
import { withAck } from '../ack.js';
import type { InboxSocket, RealtimeContext } from '../context.js';
import { chatRoom } from '../rooms.js';

const DEFAULT_LIMIT = 100;

/**
 * Catch-up after a reconnect or a seq gap: what the client missed after each cursor.
 * It also re-reads the user's conversations, so rooms missed while offline are joined.
 */
export const onSync = (ctx: RealtimeContext, socket: InboxSocket, log: FastifyBaseLogger) =>
  withAck(log, 'sync', syncPayload, async ({ cursors, limit = DEFAULT_LIMIT }) => {
    const userId = socket.data.user.id;
    const conversationIds = await conversationIdsOf(ctx.sql, userId);
    socket.join(conversationIds.map(chatRoom));
    const member = new Set(conversationIds);
    const entries = Object.entries(cursors).map(([id, seq]) => [Number(id), seq] as const);
    if (entries.some(([id]) => !member.has(id))) throw forbidden('Not a member of every conversation in cursors');
    const { messages, has_more } = await missedSince(ctx.sql, userId, entries, limit);
    return { messages, has_more, conversation_ids: conversationIds };
  });
