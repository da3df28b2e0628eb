import type { FastifyBaseLogger } from 'fastify';
import { sendMessagePayload } from '../../schemas/socket.js';
import { fastSendMessage } from '../../schemas/socket-fast.js';
import { withAck } from '../ack.js';
import { callerOf, type InboxSocket, type RealtimeContext } from '../context.js';

/** `message`: validate, send through the message service (stored, then broadcast), ack the stored message. */
export const onMessage = (ctx: RealtimeContext, socket: InboxSocket, log: FastifyBaseLogger) => {
  const caller = callerOf(socket);
  return withAck(log, 'message', sendMessagePayload, async (p) => ({ message: await ctx.services.messages.send(caller, p) }), undefined, fastSendMessage);
};
