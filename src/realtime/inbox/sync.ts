import type { FastifyBaseLogger } from 'fastify';
import { syncPayload } from '../../schemas/socket.js';
import { withAck } from '../ack.js';
import { callerOf, type InboxSocket, type RealtimeContext } from '../context.js';

/** `sync`: catch-up after a reconnect or a seq gap; rooms missed while offline are joined on the way. */
export const onSync = (ctx: RealtimeContext, socket: InboxSocket, log: FastifyBaseLogger) => {
  const caller = callerOf(socket);
  return withAck(log, 'sync', syncPayload, (p) => ctx.services.messages.sync(caller, p));
};
