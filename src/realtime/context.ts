import type { FastifyBaseLogger } from 'fastify';
import type { Socket } from 'socket.io';
import type { Config } from '../config.js';
import type { Caller } from '../domain/caller.js';
import type { Services } from '../domain/services.js';
import type { HubMetrics } from '../metrics.js';
import type { Presence } from './presence.js';
import type { ClientToServerEvents, InterServerEvents, ServerToClientEvents, SocketData } from './protocol.js';
import { chatRoom } from './rooms.js';

export type InboxSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

/** What every socket handler needs; built once per server, never per event. */
export interface RealtimeContext {
  services: Pick<Services, 'conversations' | 'messages' | 'markers' | 'jobs' | 'offlineNotify'>;
  config: Config;
  log: FastifyBaseLogger;
  metrics: HubMetrics;
  /** Presence (src/realtime/presence.ts): `ready` reads which peers are online, and announces a first socket. */
  presence?: Pick<Presence, 'onlineAmong' | 'snapshotRead' | 'snapshotFailed'>;
}

/**
 * The socket's user as the services see them. Its rooms are the membership cache: joined at
 * connect and on `conversation:new`; a conversation the services confirm in Postgres is joined
 * too, which is also what makes the socket get that conversation's events from then on. Made
 * on a socket's first event and kept for its life (idle sockets hold none).
 */
export function callerOf(socket: Pick<InboxSocket, 'rooms' | 'join' | 'data'>): Caller {
  let caller = callers.get(socket);
  if (!caller) {
    caller = {
      id: socket.data.user.id,
      sessionId: socket.data.sessionId,
      memberships: {
        has: (conversationId) => socket.rooms.has(chatRoom(conversationId)),
        remember: (conversationIds) => void socket.join(conversationIds.map(chatRoom)),
      },
    };
    callers.set(socket, caller);
  }
  return caller;
}

const callers = new WeakMap<object, Caller>();
