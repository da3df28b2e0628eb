import { randomBytes } from 'node:crypto';
import type { Server as HttpServer } from 'node:http';
import { hostname } from 'node:os';
import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import type { FastifyBaseLogger } from 'fastify';
import { Gauge } from 'prom-client';
import { Server } from 'socket.io';
import type { Config } from '../config.js';
import type { InboxSession } from '../domain/sessions.js';
import type { HubMetrics } from '../metrics.js';
import { originPolicy } from '../origin.js';
import { closeRedis, createPublisher, createRedisClient, redisTarget, waitForRedis, type RedisClient } from '../redis.js';
import { adapterKey } from '../redis-keys.js';
import { Broadcaster, type InboxServer } from './broadcaster.js';
import type { RealtimeContext } from './context.js';
import { trackSocketEvents } from './drain.js';
import { authenticateHandshake, type SessionFromCookie } from './handshake.js';
import { onInboxConnection, rememberConversations, type InboxHandlerFactory } from './inbox/connection.js';
import { resendJobSnapshotsAfterRedisReturns } from './job-resend.js';
import { legacyAwareAdapter, mountLegacyChat } from './legacy-chat.js';
import { allNamespaces } from './namespaces.js';
import { SHARDED_SUBSCRIPTION_MODE } from './room-emitter.js';
import { INBOX_NAMESPACE } from './rooms.js';
import { SessionSweep } from './session-sweep.js';
import { Presence } from './presence.js';
import { slowConsumerGuard } from './slow-consumer.js';
import { SocketCap } from './socket-cap.js';
import { renewJobWatches } from './inbox/job-watch.js';
import { socketLeasePresence } from './user-presence.js';

/** The largest frame that always gets an answer; see the contract's "Limits and bad input". */
const MAX_ANSWERED_FRAME = 1024 * 1024;
const FRAME_MARGIN = 4096;

/**
 * The longest shutdown waits for socket events in flight to ack: a healthy store answers in
 * milliseconds; a stuck one is answered by the ack deadline at the latest, but the whole
 * shutdown must stay within its own 10 s (src/shutdown.ts), closing connections included.
 */
export const SOCKET_DRAIN_MS = 6000;

/** The Socket.IO server and the one door to its rooms; handlers are attached by `serveSockets`. */
export interface SocketServer {
  io: InboxServer;
  broadcaster: Broadcaster;
  /**
   * The classic adapter's subscriber: when it is back after an outage, watched jobs are re-sent
   * (src/realtime/job-resend.ts). Null on a cluster, where the sharded adapter subscribes room by room.
   */
  subscriber: RedisClient | null;
  /**
   * The connection of the per-user socket cap and presence, auto-pipelined: a connect's
   * lease script and its peers' presence reads, and those of every socket connecting in the
   * same turn, leave in one write (a write is the unit of cost on the connect path).
   */
  state: RedisClient;
  /** Closes the adapter's and the state's Redis connections (after `io.close()`). */
  close(): Promise<void>;
}

/**
 * Socket.IO on the HTTP server with the Redis adapter (the sharded one on a cluster), so rooms
 * span every pod, and the Broadcaster that publishes into them. Nothing is served yet: the
 * services are built on the Broadcaster first, then `serveSockets` attaches the namespaces.
 */
export async function createSocketServer(httpServer: HttpServer, config: Config, log: FastifyBaseLogger, metrics: HubMetrics): Promise<SocketServer> {
  const target = redisTarget(config);
  // Drops publishes while Redis is down instead of queueing them: a replay after the
  // outage would deliver stale messages out of order, and clients `sync` anyway.
  const pub = createPublisher({ ...target, name: 'hub-adapter-pub' });
  const sub = createRedisClient({ ...target, name: 'hub-adapter-sub', maxRetriesPerRequest: null, subscriber: true });
  const state = createRedisClient({ ...target, name: 'hub-socket-state', autoPipelining: true });
  for (const c of [pub, sub, state]) c.on('error', (err) => log.warn({ err: err.message }, 'adapter redis error'));
  await Promise.all([waitForRedis(pub), waitForRedis(sub), waitForRedis(state)]);

  const io: InboxServer = new Server(httpServer, {
    serveClient: true,
    // Every frame up to 1 MiB gets an answer (`too_large`, `invalid_payload`), so a client
    // learns why; only bigger ones close. The margin covers the engine's framing of a 1 MiB event.
    maxHttpBufferSize: Math.max(MAX_ANSWERED_FRAME, config.MAX_MESSAGE_LENGTH * 4 + 4096) + FRAME_MARGIN,
    cors: { origin: [...config.ALLOWED_ORIGINS], credentials: true },
    adapter: legacyAwareAdapter(adapterFor(config, pub, sub)),
  });
  countConnectedSockets(io, metrics);
  return {
    io,
    broadcaster: new Broadcaster(io, metrics, { legacy: config.LEGACY_CHAT }),
    subscriber: config.REDIS_CLUSTER_NODES ? null : sub,
    state,
    close: async () => {
      await Promise.all([closeRedis(pub), closeRedis(sub), closeRedis(state)]);
    },
  };
}

export interface SocketDeps extends RealtimeContext {
  /** The session behind a handshake's cookie. */
  sessionFromCookie: SessionFromCookie;
  /** The same with the user's conversation ids, in one statement (the /inbox handshake). */
  inboxSessionFromCookie: SessionFromCookie<InboxSession>;
  /** The session sweep's question: which of these sessions are still live. */
  liveSessionIds: (ids: readonly number[]) => Promise<Set<number>>;
  /** The hub's command connection (the last-disconnect time of offline notifications). */
  redis: RedisClient;
  /** Handlers for further /inbox events (the job tracker registers `job:watch` here). */
  inboxHandlers: readonly InboxHandlerFactory[];
}

/** What a serving socket server needs at shutdown. */
export interface ServedSockets {
  /**
   * SIGTERM: no new connection or event; every event already received is handled and acked
   * (a message stored here is answered here); then the sockets are closed, so clients
   * reconnect to another pod.
   */
  drainAndClose(): Promise<void>;
  /** Stops the timers (socket cap leases, session sweep, job re-sends). */
  stop(): void;
}

/**
 * Everything the hub serves on its sockets, in order: every namespace checks the handshake's
 * Origin and cookie (/inbox reads the user's conversation ids in the same statement), then
 * /inbox takes a place under the per-user socket cap; `/chat/<id>` checks membership instead. Handlers only translate events
 * into service calls (src/realtime/inbox/).
 */
export function serveSockets(server: SocketServer, deps: SocketDeps): ServedSockets {
  const { io, broadcaster } = server;
  const { config, log } = deps;
  const notify = deps.services.offlineNotify;
  const markGone = socketLeasePresence(deps.redis, config).markGone;
  const onLastSocketGone = notify
    ? (userId: number) => {
        markGone(userId, Date.now())
          .then(() => notify.lastSocketGone(userId))
          .catch((err: unknown) => log.warn({ err: (err as Error).message }, 'offline notification: could not schedule after the last disconnect'));
      }
    : undefined;
  const presence = new Presence(broadcaster, (userId) => deps.services.conversations.peersOf(userId), server.state, config, log, deps.metrics);
  const socketCap = new SocketCap(io, server.state, config, { max: config.MAX_SOCKETS_PER_USER, podId: podId(), leaseMs: config.SOCKET_LEASE_MS, presence, onLastSocketGone }, log);
  const sweep = new SessionSweep(io, deps.liveSessionIds, log, config.SESSION_SWEEP_MS);
  const origins = originPolicy(config);
  const handshake = authenticateHandshake(deps.sessionFromCookie, origins, log);
  const ctx: RealtimeContext = { services: deps.services, config, log, metrics: deps.metrics, presence };

  // Every namespace checks the Origin of its handshake (whatever the transport), so a foreign
  // page never holds a socket of any kind. The main namespace serves nothing: refused after
  // the handshake (so the client still learns `forbidden_origin` or `unauthorized` first).
  io.use(handshake);
  io.use((_socket, next) => next(new Error('forbidden')));
  const inbox = io.of(INBOX_NAMESPACE);
  inbox.use(authenticateHandshake(deps.inboxSessionFromCookie, origins, log, rememberConversations));
  inbox.use(socketCap.middleware());
  inbox.on('connection', onInboxConnection(ctx, deps.inboxHandlers));

  const stopRenewingWatches = renewJobWatches(
    inbox,
    (watches) => deps.services.jobs.renewWatches(watches),
    (err) => log.warn({ err: (err as Error).message }, 'job watches: could not renew leases'),
  );

  const namespaces = [inbox];
  if (config.LEGACY_CHAT) namespaces.push(mountLegacyChat(io, ctx, handshake, socketCap.middleware()) as unknown as typeof inbox);
  // Bounded buffers per connection: a client that stops reading is held, then resynced.
  const guard = slowConsumerGuard({ maxBytes: config.SLOW_CONSUMER_BYTES, counter: deps.metrics.slowConsumer });
  for (const nsp of namespaces) nsp.on('connection', guard);
  // Shutdown: counts the events in flight, so they can ack before the sockets are closed.
  const inflight = trackSocketEvents(io, namespaces, log);
  const stopResending = server.subscriber
    ? resendJobSnapshotsAfterRedisReturns(server.subscriber, broadcaster, (ids) => deps.services.jobs.snapshots(ids), log)
    : () => {};
  return {
    drainAndClose: async () => {
      await inflight.drain(SOCKET_DRAIN_MS);
      await new Promise<void>((resolve) => {
        void io.close(() => resolve());
      });
    },
    stop: () => {
      socketCap.close();
      sweep.close();
      stopResending();
      stopRenewingWatches();
    },
  };
}

/** Names this pod's entries in the shared socket count; unique per process, readable in Redis. */
const podId = () => `${process.env.HOSTNAME ?? hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;

/** Redis Cluster gets the sharded (SSUBSCRIBE) adapter; standalone Redis the classic one. */
function adapterFor(config: Config, pub: RedisClient, sub: RedisClient) {
  if (config.REDIS_CLUSTER_NODES) {
    return createShardedAdapter(pub, sub, { channelPrefix: adapterKey(config), subscriptionMode: SHARDED_SUBSCRIPTION_MODE });
  }
  return createAdapter(pub, sub, { key: adapterKey(config) });
}

function countConnectedSockets(io: InboxServer, metrics: HubMetrics): void {
  new Gauge({
    name: 'inbox_connected_sockets',
    help: 'Sockets connected to this pod, by namespace (/chat counts every legacy namespace)',
    labelNames: ['namespace'],
    registers: [metrics.registry],
    collect() {
      this.reset();
      for (const [name, nsp] of allNamespaces(io)) {
        const label = name === INBOX_NAMESPACE || name === '/' ? name : '/chat';
        this.inc({ namespace: label }, nsp.sockets.size);
      }
    },
  });
}
