import { syncPayload } from '../../schemas/socket.js';
import { withAck } from '../ack.js';
import { callerOf, type InboxSocket, type RealtimeContext } from '../context.js';

/** `sync`: catch-up after a reconnect or a seq gap; rooms missed while offline are joined on the way. */
export const onSync = (ctx: RealtimeContext) =>
  withAck(ctx.log, 'sync', syncPayload, (p, socket: InboxSocket) => ctx.services.messages.sync(callerOf(socket), p));
