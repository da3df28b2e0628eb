import { sendMessagePayload } from '../../schemas/socket.js';
import { fastSendMessage } from '../../schemas/socket-fast.js';
import { withAck } from '../ack.js';
import { callerOf, type InboxSocket, type RealtimeContext } from '../context.js';

/** `message`: validate, send through the message service (stored, then broadcast), ack the stored message. */
export const onMessage = (ctx: RealtimeContext) =>
  withAck(
    ctx.log,
    'message',
    sendMessagePayload,
    async (p, socket: InboxSocket) => ({ message: await ctx.services.messages.send(callerOf(socket), p) }),
    undefined,
    fastSendMessage,
  );
