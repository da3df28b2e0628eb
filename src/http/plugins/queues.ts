import fp from 'fastify-plugin';
import type { Config } from '../../config.js';
import { createNotifyQueue, type NotifyQueue } from '../../queue/notify-queue.js';
import { createJobsQueue, type JobsQueue } from '../../queue/queue.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The BullMQ queue jobs are enqueued on (the Bull Board shows it; the job service uses it through its port). */
    jobsQueue: JobsQueue;
    /** Where offline notifications are scheduled; null when NOTIFY_WEBHOOK_URL is unset. */
    notifyQueue: NotifyQueue | null;
  }
}

/** Owns the BullMQ Queue (on the hub's shared Redis connection, which BullMQ leaves open) and closes it with the app. */
export default fp<{ config: Config }>(
  async (app, { config }) => {
    const queue = createJobsQueue(config, app.redis);
    queue.on('error', (err) => app.log.warn({ err: err.message }, 'job queue error'));
    app.decorate('jobsQueue', queue);
    app.addHook('onClose', () => queue.close());
    const notify = config.NOTIFY_WEBHOOK_URL ? createNotifyQueue(config, app.redis) : null;
    notify?.on('error', (err) => app.log.warn({ err: err.message }, 'notify queue error'));
    app.decorate('notifyQueue', notify);
    if (notify) app.addHook('onClose', () => notify.close());
  },
  { name: 'queues', dependencies: ['redis'] },
);
