import type { Namespace, Socket } from 'socket.io';
import { isMember } from '../domain/conversations.js';
import { legacyMessagePayload } from '../schemas/socket.js';
import { withAck, withDeadline } from './ack.js';
import type { RealtimeContext } from './context.js';
import { HANDSHAKE_DEADLINE_MS } from './handshake.js';
import { sendMessage } from './inbox/message.js';
import type { LegacyClientToServerEvents, LegacyServerToClientEvents, SocketData } from './protocol.js';
import { chatRoom, LEGACY_NAMESPACE, sessionRoom } from './rooms.js';

type LegacySocket = Socket<LegacyClientToServerEvents, LegacyServerToClientEvents, Record<string, never>, SocketData>;

const conversationOf = (nsp: Namespace) => Number(LEGACY_NAMESPACE.exec(nsp.name)![1]);

/** Membership is checked at connect (within the handshake deadline): a non-member never gets a legacy socket. */
export function legacyMembership(ctx: RealtimeContext, deadlineMs = HANDSHAKE_DEADLINE_MS) {
  return async (socket: LegacySocket, next: (err?: Error) => void) => {
    try {
      const member = isMember(ctx.sql, conversationOf(socket.nsp), socket.data.user.id);
      const ok = await withDeadline<boolean | null>(member, deadlineMs, () => null);
      next(ok === null ? new Error('unavailable') : ok ? undefined : new Error('forbidden'));
    } catch {
      next(new Error('unavailable'));
    }
  };
}

/**
 * `/chat/<id>`: the old one-connection-per-conversation protocol. Messages go through the
 * same store-then-broadcast path as /inbox, so they flow both ways.
 */
export function onLegacyConnection(ctx: RealtimeContext) {
  return (socket: LegacySocket) => {
    const conversationId = conversationOf(socket.nsp);
    const log = ctx.log.child({ socket: socket.id, user: socket.data.user.id, conversation: conversationId });
    socket.join([sessionRoom(socket.data.sessionId), chatRoom(conversationId)]);
    log.info('[ChatWS] connected');
    socket.on('disconnect', (reason) => log.info({ reason }, '[ChatWS] disconnected'));
    socket.on(
      'message',
      withAck(log, 'message', legacyMessagePayload, (p) => sendMessage(ctx, socket, { ...p, conversation_id: conversationId })),
    );
  };
}
