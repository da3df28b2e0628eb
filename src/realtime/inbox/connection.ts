import type { Socket } from 'socket.io';
import type { InboxSession } from '../../domain/sessions.js';
import { withDeadline } from '../ack.js';
import type { InboxSocket, RealtimeContext } from '../context.js';
import { HANDSHAKE_DEADLINE_MS } from '../handshake.js';
import { chatRoom, sessionRoom, userRoom } from '../rooms.js';
import { onMessage } from './message.js';
import { onDelivered, onRead } from './markers.js';
import { readyPayload } from './ready.js';
import { onSync } from './sync.js';
import { onTyping } from './typing.js';

/** Extra handlers (the job tracker's) plug in here without this file knowing them. */
export type InboxHandlerFactory = (ctx: RealtimeContext, socket: InboxSocket, log: RealtimeContext['log']) => void;

/**
 * The /inbox handshake's lookup gives the user's conversation ids with the session, in one
 * statement (src/db/repositories/sessions.ts); they are kept here until `connection`, so the
 * socket joins their rooms the moment it connects, before the `ready` snapshot is read.
 */
export function rememberConversations(socket: Socket, auth: InboxSession): void {
  conversationIdsBySocket.set(socket, auth.conversationIds);
}

const conversationIdsBySocket = new WeakMap<Socket, number[]>();

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

/**
 * The connect sequence: join `user_<id>`, `session_<id>` and every `chat_<id>` the handshake
 * loaded; attach the handlers; then read the snapshot and emit `ready`. Rooms first, so the
 * live stream overlaps the snapshot and nothing falls between them. A conversation created
 * after the ids were loaded but before the socket was in `user_<id>` (its cluster-wide join
 * found no socket) is in the snapshot: it is joined then, before `ready`, and the client's
 * `sync` after `ready` gives whatever was sent into it meanwhile.
 */
export function onInboxConnection(ctx: RealtimeContext, extra: readonly InboxHandlerFactory[], deadlineMs = HANDSHAKE_DEADLINE_MS) {
  return (socket: InboxSocket) => {
    const { user, sessionId } = socket.data;
    const conversationIds = conversationIdsBySocket.get(socket) ?? [];
    conversationIdsBySocket.delete(socket);
    socket.join([userRoom(user.id), sessionRoom(sessionId), ...conversationIds.map(chatRoom)]);
    const log = ctx.log.child({ socket: socket.id, user: user.id });
    // Debug, not info: a synchronous log write per connect and per disconnect was 9 % of the
    // hub's CPU while sockets connected (docs/performance.md). LOG_LEVEL=debug shows them.
    log.debug({ rooms: conversationIds.length }, '[InboxWS] connected');
    socket.on('disconnect', (reason) => log.debug({ reason }, '[InboxWS] disconnected'));

    socket.on('message', timed(ctx, 'message', onMessage(ctx, socket, log)));
    socket.on('sync', timed(ctx, 'sync', onSync(ctx, socket, log)));
    socket.on('typing', timed(ctx, 'typing', onTyping(ctx, socket, log)));
    socket.on('read', timed(ctx, 'read', onRead(ctx, socket, log)));
    socket.on('delivered', timed(ctx, 'delivered', onDelivered(ctx, socket, log)));
    for (const register of extra) register(ctx, socket, log);

    void sendReady(ctx, socket, log, deadlineMs);
  };
}

/**
 * Reads the snapshot and emits `ready`. If storage cannot give it, the transport is closed
 * rather than the socket (a server-side disconnect would stop socket.io-client from
 * reconnecting): the client reconnects with its backoff, as after a pod restart.
 */
async function sendReady(ctx: RealtimeContext, socket: InboxSocket, log: RealtimeContext['log'], deadlineMs: number): Promise<void> {
  let payload;
  try {
    payload = await withDeadline(readyPayload(ctx, socket), deadlineMs, () => null);
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'inbox connect failed: snapshot unavailable; closing the transport');
  }
  if (!payload) {
    ctx.presence?.snapshotFailed(socket);
    if (payload === null) log.warn({ deadlineMs }, 'inbox connect failed: snapshot did not load in time; closing the transport');
    socket.conn.close();
    return;
  }
  if (!socket.connected) return;
  const missed = payload.conversation_ids.filter((id) => !socket.rooms.has(chatRoom(id)));
  if (missed.length > 0) socket.join(missed.map(chatRoom));
  socket.emit('ready', payload);
}
