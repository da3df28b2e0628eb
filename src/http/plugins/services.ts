import fp from 'fastify-plugin';
import type { Config } from '../../config.js';
import { createServices, type Services } from '../../domain/services.js';
import { bullJobQueue } from '../../queue/queue.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Every use case; routes and socket handlers call these and nothing below them. */
    services: Services;
  }
}

/** Builds the services once per app, over the pool, Redis, the job queue and the Broadcaster. */
export default fp<{ config: Config }>(
  async (app, { config }) => {
    const services = createServices({
      sql: app.dbHandle.sql,
      redis: app.redis,
      config,
      publisher: app.broadcaster,
      queue: bullJobQueue(app.jobsQueue, app.redis, config),
      log: app.log,
    });
    app.decorate('services', services);
    app.addHook('onClose', async () => services.close());
  },
  { name: 'services', dependencies: ['db', 'redis', 'socket-io', 'queues'] },
);
