import { withDeadline } from '../ack.js';
import type { InboxSocket, RealtimeContext } from '../context.js';
import { HANDSHAKE_DEADLINE_MS } from '../handshake.js';
import { chatRoom, sessionRoom, userRoom } from '../rooms.js';
import { onMessage } from './message.js';
import { onRead } from './read.js';
import { onSync } from './sync.js';
import { onTyping } from './typing.js';

/** Extra handlers (the job tracker's) plug in here without this file knowing them. */
export type InboxHandlerFactory = (ctx: RealtimeContext, socket: InboxSocket, log: RealtimeContext['log']) => void;

/**
 * Middleware that loads the user's conversations before `connection`, so joining is
 * synchronous. Bounded like the session lookup: a frozen Postgres refuses the socket with
 * `unavailable` instead of holding it half-open.
 */
export function loadConversations(ctx: RealtimeContext, deadlineMs = HANDSHAKE_DEADLINE_MS) {
  return async (socket: InboxSocket, next: (err?: Error) => void) => {
    let ids: number[] | null;
    try {
      ids = await withDeadline(ctx.services.conversations.idsOf(socket.data.user.id), deadlineMs, () => null);
    } catch (err) {
      ctx.log.warn({ err: (err as Error).message }, 'inbox connect failed: storage unavailable');
      return next(new Error('unavailable'));
    }
    if (!ids) {
      ctx.log.warn({ deadlineMs }, 'inbox connect failed: conversations did not load in time');
      return next(new Error('unavailable'));
    }
    conversationIdsBySocket.set(socket, ids);
    next();
  };
}

const conversationIdsBySocket = new WeakMap<InboxSocket, number[]>();

type Listener = (payload: unknown, ack?: unknown) => Promise<void>;

/** Observes the time to each ack (and counts stored messages) without the handlers knowing. */
function timed(ctx: RealtimeContext, event: string, listener: Listener): Listener {
  return (payload, ack) => {
    if (typeof ack !== 'function') return listener(payload, ack);
    const stop = ctx.metrics.ackLatency.startTimer({ event });
    return listener(payload, (reply: { ok: boolean; error?: { code: string } }) => {
      stop({ outcome: reply.ok ? 'ok' : (reply.error?.code ?? 'error') });
      if (event === 'message' && reply.ok) ctx.metrics.messagesStored.inc();
      (ack as (r: unknown) => void)(reply);
    });
  };
}

export function onInboxConnection(ctx: RealtimeContext, extra: readonly InboxHandlerFactory[]) {
  return (socket: InboxSocket) => {
    const { user, sessionId } = socket.data;
    const conversationIds = conversationIdsBySocket.get(socket) ?? [];
    conversationIdsBySocket.delete(socket);
    socket.join([userRoom(user.id), sessionRoom(sessionId), ...conversationIds.map(chatRoom)]);
    const log = ctx.log.child({ socket: socket.id, user: user.id });
    log.info({ rooms: conversationIds.length }, '[InboxWS] connected');
    socket.on('disconnect', (reason) => log.info({ reason }, '[InboxWS] disconnected'));

    socket.on('message', timed(ctx, 'message', onMessage(ctx, socket, log)));
    socket.on('sync', timed(ctx, 'sync', onSync(ctx, socket, log)));
    socket.on('typing', timed(ctx, 'typing', onTyping(ctx, socket, log)));
    socket.on('read', timed(ctx, 'read', onRead(ctx, socket, log)));
    for (const register of extra) register(ctx, socket, log);

    socket.emit('ready', { user, conversation_ids: conversationIds });
  };
}
