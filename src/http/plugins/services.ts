import fp from 'fastify-plugin';
import type { Config } from '../../config.js';
import { createServices, type Services } from '../../domain/services.js';
import { bullNotifyScheduler } from '../../queue/notify-queue.js';
import { bullJobQueue } from '../../queue/queue.js';
import { INBOX_NAMESPACE, userRoom } from '../../realtime/rooms.js';
import { socketLeasePresence } from '../../realtime/user-presence.js';

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
      offlineNotify: app.notifyQueue
        ? {
            // A socket of the user on this pod answers without Redis.
            presence: socketLeasePresence(app.redis, config, (id) => app.io.of(INBOX_NAMESPACE).adapter.rooms.has(userRoom(id))),
            scheduler: bullNotifyScheduler(app.notifyQueue),
          }
        : undefined,
    });
    app.decorate('services', services);
    app.addHook('onClose', async () => services.close());
  },
  { name: 'services', dependencies: ['db', 'redis', 'socket-io', 'queues'] },
);
