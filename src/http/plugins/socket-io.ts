import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import fp from 'fastify-plugin';
import { Server } from 'socket.io';
import type { Config } from '../../config.js';
import { RateLimiter, SharedRateLimiter } from '../../domain/rate-limiter.js';
import { closeRedis, createPublisher, createRedisClient, redisTarget, waitForRedis, type RedisClient } from '../../redis.js';
import { adapterKey } from '../../redis-keys.js';
import { Broadcaster, type InboxServer } from '../../realtime/broadcaster.js';
import type { RealtimeContext } from '../../realtime/context.js';
import { authenticateHandshake } from '../../realtime/handshake.js';
import { originPolicy } from './origin-guard.js';
import { loadConversations, onInboxConnection, type InboxHandlerFactory } from '../../realtime/inbox/connection.js';
import { legacyAwareAdapter, mountLegacyChat } from '../../realtime/legacy-chat.js';
import { redisTokenStore } from '../../realtime/redis-token-store.js';
import { SessionSweep } from '../../realtime/session-sweep.js';
import { SHARDED_SUBSCRIPTION_MODE } from '../../realtime/room-emitter.js';
import { INBOX_NAMESPACE } from '../../realtime/rooms.js';
import { SocketCap } from '../../realtime/socket-cap.js';
import { trackSocketEvents } from '../../realtime/drain.js';

declare module 'fastify' {
  interface FastifyInstance {
    io: InboxServer;
    broadcaster: Broadcaster;
  }
}

export interface SocketIoOptions {
  config: Config;
  /** Handlers for further /inbox events (the job tracker registers `job:watch` here). */
  inboxHandlers?: InboxHandlerFactory[];
}

/** Socket.IO on Fastify's HTTP server with the Redis adapter; closed with the app. */
export default fp<SocketIoOptions>(
  async (app, { config, inboxHandlers = [] }) => {
    const target = redisTarget(config);
    // Drops publishes while Redis is down instead of queueing them: a replay after the
    // outage would deliver stale messages out of order, and clients `sync` anyway.
    const pub = createPublisher({ ...target, name: 'hub-adapter-pub' });
    const sub = createRedisClient({ ...target, name: 'hub-adapter-sub', maxRetriesPerRequest: null, subscriber: true });
    for (const c of [pub, sub]) c.on('error', (err) => app.log.warn({ err: err.message }, 'adapter redis error'));
    await Promise.all([waitForRedis(pub), waitForRedis(sub)]);

    const io: InboxServer = new Server(app.server, {
      serveClient: true,
      // Every frame up to 1 MiB gets an answer (`too_large`, `invalid_payload`), so a client
      // learns why; only bigger ones close. The margin covers the engine's framing of a 1 MiB event.
      maxHttpBufferSize: Math.max(MAX_ANSWERED_FRAME, config.MAX_MESSAGE_LENGTH * 4 + 4096) + FRAME_MARGIN,
      cors: { origin: [...config.ALLOWED_ORIGINS], credentials: true },
      adapter: legacyAwareAdapter(adapterFor(config, pub, sub)),
    });

    const messageLimiter = new SharedRateLimiter(
      redisTokenStore(app.redis, config, config.MESSAGE_RATE_LIMIT),
      new RateLimiter(config.MESSAGE_RATE_LIMIT),
      config.MESSAGE_RATE_LIMIT,
      (err) => app.log.warn({ err: err.message }, 'message rate limit: redis unavailable, counting this pod only'),
    );
    const socketCap = new SocketCap(io, app.redis, config, { max: config.MAX_SOCKETS_PER_USER, podId: podId() }, app.log);
    const sweep = new SessionSweep(io, app.dbHandle.sql, app.log, config.SESSION_SWEEP_MS);
    const broadcaster = new Broadcaster(io, app.metrics, { legacy: config.LEGACY_CHAT });
    const ctx: RealtimeContext = {
      sql: app.dbHandle.sql,
      config,
      broadcaster,
      messageLimiter,
      metrics: app.metrics,
      log: app.log,
    };
    const handshake = authenticateHandshake(app.sessions, originPolicy(config), app.log);

    // Every namespace checks the Origin of its handshake (whatever the transport), so a foreign
    // page never holds a socket of any kind. The main namespace serves nothing: refused after
    // the handshake (so the client still learns `forbidden_origin` or `unauthorized` first).
    io.use(handshake);
    io.use((_socket, next) => next(new Error('forbidden')));
    const inbox = io.of(INBOX_NAMESPACE);
    inbox.use(handshake);
    inbox.use(loadConversations(ctx));
    inbox.use(socketCap.middleware());
    inbox.on('connection', onInboxConnection(ctx, inboxHandlers));

    const namespaces = [inbox];
    if (config.LEGACY_CHAT) namespaces.push(mountLegacyChat(io, ctx, handshake, socketCap.middleware()) as unknown as typeof inbox);
    // Shutdown: counts the events in flight, so preClose lets them ack before closing sockets.
    const inflight = trackSocketEvents(io, namespaces, app.log);
    app.addHook('onClose', async () => {
      socketCap.close();
      sweep.close();
    });

    app.decorate('io', io);
    app.decorate('broadcaster', broadcaster);
    // SIGTERM: no new connection or event; every event already received is handled and acked
    // (a message stored here is answered here); then the sockets are closed, so clients
    // reconnect to another pod while this one drains its HTTP requests and closes.
    app.addHook('preClose', async () => {
      messageLimiter.close();
      await inflight.drain(SOCKET_DRAIN_MS);
      await new Promise<void>((resolve) => {
        void io.close(() => resolve());
      });
    });
    app.addHook('onClose', async () => {
      await Promise.all([closeRedis(pub), closeRedis(sub)]);
    });
  },
  { name: 'socket-io', dependencies: ['db', 'redis', 'session', 'metrics'] },
);

/** The largest frame that always gets an answer; see the contract's "Limits and bad input". */
const MAX_ANSWERED_FRAME = 1024 * 1024;
const FRAME_MARGIN = 4096;

/** Names this pod's entries in the shared socket count; unique per process, readable in Redis. */
const podId = () => `${process.env.HOSTNAME ?? hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;

/**
 * The longest shutdown waits for socket events in flight to ack: a healthy store answers in
 * milliseconds; a stuck one is answered by the ack deadline at the latest, but the whole
 * shutdown must stay within its own 10 s (src/shutdown.ts), closing connections included.
 */
export const SOCKET_DRAIN_MS = 6000;

/** Redis Cluster gets the sharded (SSUBSCRIBE) adapter; standalone Redis the classic one. */
function adapterFor(config: Config, pub: RedisClient, sub: RedisClient) {
  if (config.REDIS_CLUSTER_NODES) {
    return createShardedAdapter(pub, sub, { channelPrefix: adapterKey(config), subscriptionMode: SHARDED_SUBSCRIPTION_MODE });
  }
  return createAdapter(pub, sub, { key: adapterKey(config) });
}


