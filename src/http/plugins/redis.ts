import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';
import type { Config } from '../../config.js';
import { createRedis, waitForRedis } from '../../redis.js';

declare module 'fastify' {
  interface FastifyInstance {
    redis: Redis;
  }
}

/** The hub's command connection (readiness, rate limits, queue producers share it). */
export default fp<{ config: Config }>(
  async (app, { config }) => {
    const redis = createRedis({ url: config.REDIS_URL, name: 'hub' });
    redis.on('error', (err) => app.log.warn({ err: err.message }, 'redis connection error'));
    try {
      await waitForRedis(redis);
    } catch (err) {
      redis.disconnect();
      throw new Error(`REDIS_URL: ${(err as Error).message} at ${config.REDIS_URL} (start it with: redis-server --daemonize yes)`);
    }
    app.decorate('redis', redis);
    app.addHook('onClose', async () => {
      await redis.quit().catch(() => redis.disconnect());
    });
  },
  { name: 'redis' },
);
