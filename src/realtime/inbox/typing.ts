import type { FastifyBaseLogger } from 'fastify';
import { conversationPayload } from '../../schemas/socket.js';
import { withAck } from '../ack.js';
import { callerOf, type InboxSocket, type RealtimeContext } from '../context.js';

/** `typing`: ephemeral, relayed to the other member's sockets only. */
export const onTyping = (ctx: RealtimeContext, socket: InboxSocket, log: FastifyBaseLogger) => {
  const caller = callerOf(socket);
  return withAck(log, 'typing', conversationPayload, async (p) => {
    await ctx.services.conversations.typing(caller, p);
    return {};
  });
};
