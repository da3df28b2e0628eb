import type { FastifyBaseLogger } from 'fastify';
import { deliveredPayload, readPayload } from '../../schemas/socket.js';
import { withAck } from '../ack.js';
import { callerOf, type InboxSocket, type RealtimeContext } from '../context.js';

/** `read`: the read marker (and the delivered ones) move only forward; what moved goes to the conversation's room. */
export const onRead = (ctx: RealtimeContext, socket: InboxSocket, log: FastifyBaseLogger) => {
  const caller = callerOf(socket);
  return withAck(log, 'read', readPayload, async (p) => {
    await ctx.services.markers.read(caller, p);
    return {};
  });
};

/** `delivered`: this socket's session received everything up to `seq`; the user's marker is the highest over their sessions. */
export const onDelivered = (ctx: RealtimeContext, socket: InboxSocket, log: FastifyBaseLogger) => {
  const caller = callerOf(socket);
  return withAck(log, 'delivered', deliveredPayload, async (p) => {
    await ctx.services.markers.delivered(caller, p);
    return {};
  });
};
