import type { FastifyBaseLogger } from 'fastify';
import { readPayload } from '../../schemas/socket.js';
import { withAck } from '../ack.js';
import { callerOf, type InboxSocket, type RealtimeContext } from '../context.js';

/** `read`: the marker moves only forward; the conversation's room is told where it now stands. */
export const onRead = (ctx: RealtimeContext, socket: InboxSocket, log: FastifyBaseLogger) => {
  const caller = callerOf(socket);
  return withAck(log, 'read', readPayload, async (p) => {
    await ctx.services.conversations.markRead(caller, p);
    return {};
  });
};
