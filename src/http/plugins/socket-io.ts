import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import fp from 'fastify-plugin';
import { Server } from 'socket.io';
import type { Config } from '../../config.js';
import { RateLimiter } from '../../domain/rate-limiter.js';
import { closeRedis, createPublisher, createRedisClient, redisTarget, waitForRedis, type RedisClient } from '../../redis.js';
import { adapterKey } from '../../redis-keys.js';
import { Broadcaster, type InboxServer } from '../../realtime/broadcaster.js';
import type { RealtimeContext } from '../../realtime/context.js';
import { authenticateHandshake } from '../../realtime/handshake.js';
import { originPolicy } from './origin-guard.js';
import { loadConversations, onInboxConnection, type InboxHandlerFactory } from '../../realtime/inbox/connection.js';
import { legacyMembership, onLegacyConnection } from '../../realtime/legacy-chat.js';
import { SHARDED_SUBSCRIPTION_MODE } from '../../realtime/room-emitter.js';
import { INBOX_NAMESPACE, LEGACY_NAMESPACE } from '../../realtime/rooms.js';
import { capSocketsPerUser } from '../../realtime/socket-cap.js';

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
      // The largest legal event is a message of MAX_MESSAGE_LENGTH 4-byte characters, or a full sync.
      maxHttpBufferSize: Math.max(64 * 1024, config.MAX_MESSAGE_LENGTH * 4 + 4096),
      cors: { origin: [...config.ALLOWED_ORIGINS], credentials: true },
      adapter: adapterFor(config, pub, sub),
    });

    const messageLimiter = new RateLimiter(config.MESSAGE_RATE_LIMIT);
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

    // Every namespace checks the Origin of its handshake (whatever the transport), the unused
    // main one included, so a foreign page never holds a connected socket of any kind.
    io.use(handshake);
    const inbox = io.of(INBOX_NAMESPACE);
    inbox.use(handshake);
    inbox.use(capSocketsPerUser(config.MAX_SOCKETS_PER_USER));
    inbox.use(loadConversations(ctx));
    inbox.on('connection', onInboxConnection(ctx, inboxHandlers));

    if (config.LEGACY_CHAT) {
      const legacy = io.of(LEGACY_NAMESPACE);
      legacy.use(handshake);
      legacy.use(legacyMembership(ctx));
      legacy.on('connection', onLegacyConnection(ctx));
    }

    app.decorate('io', io);
    app.decorate('broadcaster', broadcaster);
    // Sockets go first, so clients reconnect elsewhere while this pod drains its requests.
    app.addHook('preClose', async () => {
      messageLimiter.close();
      await new Promise<void>((resolve) => {
        void io.close(() => resolve());
      });
    });
    app.addHook('onClose', async () => {
      await Promise.all([closeRedis(pub), closeRedis(sub)]);
    });
  },
  { name: 'socket-io', dependencies: ['db', 'session', 'metrics'] },
);

/** Redis Cluster gets the sharded (SSUBSCRIBE) adapter; standalone Redis the classic one. */
function adapterFor(config: Config, pub: RedisClient, sub: RedisClient) {
  if (config.REDIS_CLUSTER_NODES) {
    return createShardedAdapter(pub, sub, { channelPrefix: adapterKey(config), subscriptionMode: SHARDED_SUBSCRIPTION_MODE });
  }
  return createAdapter(pub, sub, { key: adapterKey(config) });
}


