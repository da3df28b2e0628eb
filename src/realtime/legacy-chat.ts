import type { Namespace, Socket } from 'socket.io';
import { Adapter } from 'socket.io-adapter';
import { legacyMessagePayload } from '../schemas/socket.js';
import { withAck, withDeadline } from './ack.js';
import type { InboxServer } from './broadcaster.js';
import { callerOf, type RealtimeContext } from './context.js';
import { HANDSHAKE_DEADLINE_MS } from './handshake.js';
import type { LegacyClientToServerEvents, LegacyServerToClientEvents, SocketData } from './protocol.js';
import { dropWhenEmpty } from './namespaces.js';
import { chatRoom, LEGACY_NAMESPACE, MAX_CONVERSATION_ID, sessionRoom } from './rooms.js';

type Middleware = (socket: any, next: (err?: Error) => void) => void;
type LegacySocket = Socket<LegacyClientToServerEvents, LegacyServerToClientEvents, Record<string, never>, SocketData>;

const conversationOf = (nsp: Namespace) => Number(LEGACY_NAMESPACE.exec(nsp.name)![1]);

/** Membership is checked at connect (within the handshake deadline): a non-member never gets a legacy socket. */
function legacyMembership(ctx: RealtimeContext, deadlineMs = HANDSHAKE_DEADLINE_MS) {
  return async (socket: LegacySocket, next: (err?: Error) => void) => {
    const conversationId = conversationOf(socket.nsp);
    // Beyond Postgres's integer no conversation exists; asking would fail as `unavailable`.
    if (conversationId > MAX_CONVERSATION_ID) return next(new Error('forbidden'));
    try {
      const member = ctx.services.conversations.isMember(socket.data.user.id, conversationId);
      const ok = await withDeadline<boolean | null>(member, deadlineMs, () => null);
      next(ok === null ? new Error('unavailable') : ok ? undefined : new Error('forbidden'));
    } catch {
      next(new Error('unavailable'));
    }
  };
}

/**
 * `/chat/<id>`: the old one-connection-per-conversation protocol. Messages go through the
 * same message service as /inbox (stored, then broadcast to both), so they flow both ways.
 */
function onLegacyConnection(ctx: RealtimeContext) {
  // One listener for every legacy socket of the pod; the conversation is the socket's namespace.
  const onMessage = withAck(ctx.log, 'message', legacyMessagePayload, async (p, socket: LegacySocket) => ({
    message: await ctx.services.messages.send(callerOf(socket), { ...p, conversation_id: conversationOf(socket.nsp) }),
  }));
  return (socket: LegacySocket) => {
    const conversationId = conversationOf(socket.nsp);
    const log = ctx.log.child({ socket: socket.id, user: socket.data.user.id, conversation: conversationId });
    socket.join([sessionRoom(socket.data.sessionId), chatRoom(conversationId)]);
    log.info('[ChatWS] connected');
    socket.on('disconnect', (reason) => log.info({ reason }, '[ChatWS] disconnected'));
    socket.on('message', onMessage);
  };
}

/**
 * Legacy namespaces keep nothing in Redis: they get the in-memory adapter (their messages and
 * logouts reach other pods through /inbox's `legacy:message` and `session:revoked`), so a child
 * namespace costs no subscription, and it is dropped as soon as it holds no socket. Pass the
 * result to the server's `adapter` option in front of the Redis one.
 */
export function legacyAwareAdapter(redisAdapter: (nsp: Namespace) => Adapter) {
  // A `function`, not an arrow: Socket.IO calls it with `new`, which returns the object given back.
  return function adapterFor(nsp: Namespace): Adapter {
    return LEGACY_NAMESPACE.test(nsp.name) ? new Adapter(nsp) : redisAdapter(nsp);
  };
}

/** Serves `/chat/<id>`: the handshake, then membership, then the per-user socket cap. Returns the parent namespace. */
export function mountLegacyChat(io: InboxServer, ctx: RealtimeContext, handshake: Middleware, cap: Middleware) {
  const legacy = io.of(LEGACY_NAMESPACE);
  io.on('new_namespace', (nsp) => {
    if (LEGACY_NAMESPACE.test(nsp.name)) dropWhenEmpty(io, legacy, nsp);
  });
  legacy.use(handshake);
  legacy.use(legacyMembership(ctx));
  legacy.use(cap);
  legacy.on('connection', onLegacyConnection(ctx));
  return legacy;
}
