import { deliveredPayload, readPayload } from '../../schemas/socket.js';
import { withAck } from '../ack.js';
import { callerOf, type InboxSocket, type RealtimeContext } from '../context.js';

/** `read`: the read marker (and the delivered ones) move only forward; what moved goes to the conversation's room. */
export const onRead = (ctx: RealtimeContext) =>
  withAck(ctx.log, 'read', readPayload, async (p, socket: InboxSocket) => {
    await ctx.services.markers.read(callerOf(socket), p);
    return {};
  });

/** `delivered`: this socket's session received everything up to `seq`; the user's marker is the highest over their sessions. */
export const onDelivered = (ctx: RealtimeContext) =>
  withAck(ctx.log, 'delivered', deliveredPayload, async (p, socket: InboxSocket) => {
    await ctx.services.markers.delivered(callerOf(socket), p);
    return {};
  });
