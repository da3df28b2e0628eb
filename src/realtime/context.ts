import type { FastifyBaseLogger } from 'fastify';
import type { Sql } from 'postgres';
import type { Socket } from 'socket.io';
import type { Config } from '../config.js';
import type { HubMetrics } from '../http/plugins/metrics.js';
import { isMember } from '../domain/conversations.js';
import type { SharedRateLimiter } from '../domain/rate-limiter.js';
import { forbidden } from '../errors.js';
import type { Broadcaster } from './broadcaster.js';
import type { ClientToServerEvents, InterServerEvents, ServerToClientEvents, SocketData } from './protocol.js';
import { chatRoom } from './rooms.js';

export type InboxSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

/** What every socket handler needs; built once per server, never per event. */
export interface RealtimeContext {
  sql: Sql;
  config: Config;
  broadcaster: Broadcaster;
  messageLimiter: SharedRateLimiter;
  log: FastifyBaseLogger;
  metrics: HubMetrics;
}

/**
 * Membership on every event: the socket's rooms are the cache (joined at connect and on
 * `conversation:new`); a miss asks Postgres before refusing, and heals the cache.
 */
export async function ensureMember(ctx: RealtimeContext, socket: { rooms: Set<string>; join(room: string): unknown }, userId: number, conversationId: number): Promise<void> {
  const room = chatRoom(conversationId);
  if (socket.rooms.has(room)) return;
  if (!(await isMember(ctx.sql, conversationId, userId))) throw forbidden('Not a member of that conversation');
  socket.join(room);
}
