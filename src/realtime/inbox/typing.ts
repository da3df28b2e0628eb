import { conversationPayload } from '../../schemas/socket.js';
import { withAck } from '../ack.js';
import { callerOf, type InboxSocket, type RealtimeContext } from '../context.js';

/** `typing`: ephemeral, relayed to the other member's sockets only. */
export const onTyping = (ctx: RealtimeContext) =>
  withAck(ctx.log, 'typing', conversationPayload, async (p, socket: InboxSocket) => {
    await ctx.services.conversations.typing(callerOf(socket), p);
    return {};
  });
