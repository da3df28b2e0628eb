import type { FastifyBaseLogger } from 'fastify';
import { conversationPayload } from '../../schemas/socket.js';
import { withAck } from '../ack.js';
import { ensureMember, type InboxSocket, type RealtimeContext } from '../context.js';

/** Ephemeral: not stored, relayed to the other member's sockets only. */
export const onTyping = (ctx: RealtimeContext, socket: InboxSocket, log: FastifyBaseLogger) =>
  withAck(log, 'typing', conversationPayload, async ({ conversation_id }) => {
    const userId = socket.data.user.id;
    await ensureMember(ctx, socket, userId, conversation_id);
    ctx.broadcaster.typing(conversation_id, userId);
    return {};
  });
