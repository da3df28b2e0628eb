import fp from 'fastify-plugin';
import type { Config } from '../../config.js';
import { closeRedis, createRedisClient, redisTarget, waitForRedis, type RedisClient } from '../../redis.js';

declare module 'fastify' {
  interface FastifyInstance {
    redis: RedisClient;
  }
}

/** The hub's command connection (readiness, rate limits, queue producers share it). */
export default fp<{ config: Config }>(
  async (app, { config }) => {
    const redis = createRedisClient({ ...redisTarget(config), name: 'hub' });
    redis.on('error', (err) => app.log.warn({ err: err.message }, 'redis connection error'));
    try {
      await waitForRedis(redis);
    } catch (err) {
      redis.disconnect();
      const where = config.REDIS_CLUSTER_NODES ? 'REDIS_CLUSTER_NODES' : 'REDIS_URL';
      throw new Error(`${where}: ${(err as Error).message} (start it with: redis-server --daemonize yes)`);
    }
    app.decorate<RedisClient>('redis', redis);
    app.addHook('onClose', () => closeRedis(redis));
  },
  { name: 'redis' },
);
