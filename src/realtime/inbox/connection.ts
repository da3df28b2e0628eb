import type { Socket } from 'socket.io';
import type { InboxSession } from '../../domain/sessions.js';
import { socketLogger, withDeadline, type SocketListener } from '../ack.js';
import type { InboxSocket, RealtimeContext } from '../context.js';
import { HANDSHAKE_DEADLINE_MS } from '../handshake.js';
import { chatRoom, sessionRoom, userRoom } from '../rooms.js';
import { onMessage } from './message.js';
import { onDelivered, onRead } from './markers.js';
import { readyPayload } from './ready.js';
import { onSync } from './sync.js';
import { onTyping } from './typing.js';

/**
 * Extra handlers (the job tracker's) plug in here without this file knowing them: built once
 * per namespace, listeners by event name (reserved events such as `disconnecting` included),
 * each called with the socket as `this`.
 */
export type InboxHandlerFactory = (ctx: RealtimeContext) => Record<string, SocketListener<InboxSocket> | ((this: InboxSocket, ...args: any[]) => void)>;

/**
 * The /inbox handshake's lookup gives the user's conversation ids with the session, in one
 * statement (src/db/repositories/sessions.ts); they are kept here until `connection`, so the
 * socket joins their rooms the moment it connects, before the `ready` snapshot is read.
 */
export function rememberConversations(socket: Socket, auth: InboxSession): void {
  conversationIdsBySocket.set(socket, auth.conversationIds);
}

const conversationIdsBySocket = new WeakMap<Socket, number[]>();

/** Observes the time to each ack (and counts stored messages) without the handlers knowing. */
function timed(ctx: RealtimeContext, event: string, listener: SocketListener<InboxSocket>): SocketListener<InboxSocket> {
  return function (this: InboxSocket, payload, ack) {
    if (typeof ack !== 'function') return listener.call(this, payload, ack);
    const stop = ctx.metrics.ackLatency.startTimer({ event });
    return listener.call(this, payload, (reply: { ok: boolean; error?: { code: string } }) => {
      stop({ outcome: reply.ok ? 'ok' : (reply.error?.code ?? 'error') });
      if (event === 'message' && reply.ok) ctx.metrics.messagesStored.inc();
      (ack as (r: unknown) => void)(reply);
    });
  };
}

/**
 * The connect sequence: join `user_<id>`, `session_<id>` and every `chat_<id>` the handshake
 * loaded; attach the handlers; then read the snapshot and emit `ready`. Rooms first, so the
 * live stream overlaps the snapshot and nothing falls between them. A conversation created
 * after the ids were loaded but before the socket was in `user_<id>` (its cluster-wide join
 * found no socket) is in the snapshot: it is joined then, before `ready`, and the client's
 * `sync` after `ready` gives whatever was sent into it meanwhile.
 *
 * The listeners are built here once and shared by every socket (see SocketListener): a socket
 * holds references to them, not closures of its own.
 */
export function onInboxConnection(ctx: RealtimeContext, extra: readonly InboxHandlerFactory[], deadlineMs = HANDSHAKE_DEADLINE_MS) {
  const listeners: Array<[string, (this: InboxSocket, ...args: any[]) => unknown]> = [
    ['message', timed(ctx, 'message', onMessage(ctx))],
    ['sync', timed(ctx, 'sync', onSync(ctx))],
    ['typing', timed(ctx, 'typing', onTyping(ctx))],
    ['read', timed(ctx, 'read', onRead(ctx))],
    ['delivered', timed(ctx, 'delivered', onDelivered(ctx))],
    ...extra.flatMap((factory) => Object.entries(factory(ctx))),
  ];
  // Debug, not info: a synchronous log write per connect and per disconnect was 9 % of the
  // hub's CPU while sockets connected (docs/performance.md). LOG_LEVEL=debug shows them.
  function onDisconnect(this: InboxSocket, reason: string) {
    ctx.log.debug({ socket: this.id, user: this.data.user.id, reason }, '[InboxWS] disconnected');
  }
  return (socket: InboxSocket) => {
    const { user, sessionId } = socket.data;
    const conversationIds = conversationIdsBySocket.get(socket) ?? [];
    conversationIdsBySocket.delete(socket);
    socket.join([userRoom(user.id), sessionRoom(sessionId), ...conversationIds.map(chatRoom)]);
    ctx.log.debug({ socket: socket.id, user: user.id, rooms: conversationIds.length }, '[InboxWS] connected');
    socket.on('disconnect', onDisconnect);
    for (const [event, listener] of listeners) socket.on(event as 'message', listener as never);
    void sendReady(ctx, socket, deadlineMs);
  };
}

/**
 * Reads the snapshot and emits `ready`. If storage cannot give it, the transport is closed
 * rather than the socket (a server-side disconnect would stop socket.io-client from
 * reconnecting): the client reconnects with its backoff, as after a pod restart.
 */
async function sendReady(ctx: RealtimeContext, socket: InboxSocket, deadlineMs: number): Promise<void> {
  let payload;
  try {
    payload = await withDeadline(readyPayload(ctx, socket), deadlineMs, () => null);
  } catch (err) {
    socketLogger(ctx.log, socket).warn({ err: (err as Error).message }, 'inbox connect failed: snapshot unavailable; closing the transport');
  }
  if (!payload) {
    ctx.presence?.snapshotFailed(socket);
    if (payload === null) socketLogger(ctx.log, socket).warn({ deadlineMs }, 'inbox connect failed: snapshot did not load in time; closing the transport');
    socket.conn.close();
    return;
  }
  if (!socket.connected) return;
  const missed = payload.conversation_ids.filter((id) => !socket.rooms.has(chatRoom(id)));
  if (missed.length > 0) socket.join(missed.map(chatRoom));
  socket.emit('ready', payload);
}
