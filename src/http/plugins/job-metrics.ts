import { QueueEvents } from 'bullmq';
import fp from 'fastify-plugin';
import type { Config } from '../../config.js';
import { JOBS_QUEUE } from '../../queue/queue.js';
import { closeRedis, createRedisClient, redisTarget } from '../../redis.js';
import { bullPrefix } from '../../redis-keys.js';

/**
 * BullMQ's queue events and the contract state each one counts as. Progress is not among
 * them: processors report it through the jobs table, not BullMQ's updateProgress.
 */
const EVENT_STATES = {
  waiting: 'waiting',
  delayed: 'delayed',
  active: 'active',
  completed: 'completed',
  failed: 'failed',
  removed: 'cancelled',
} as const;

/**
 * Counts job status changes by state for /metrics. Workers have no HTTP server, so the
 * hub follows BullMQ's event stream; every pod sees every event, so aggregate with
 * `max by (state)` rather than `sum`.
 */
export default fp<{ config: Config }>(
  async (app, { config }) => {
    const connection = createRedisClient({ ...redisTarget(config), name: 'hub-queue-events', maxRetriesPerRequest: null });
    connection.on('error', (err) => app.log.warn({ err: err.message }, 'queue events redis error'));
    const events = new QueueEvents(JOBS_QUEUE, { connection, prefix: bullPrefix(config) });
    events.on('error', (err) => app.log.warn({ err: err.message }, 'queue events error'));
    for (const [event, state] of Object.entries(EVENT_STATES)) {
      events.on(event as keyof typeof EVENT_STATES, () => app.metrics.jobEvents.inc({ state }));
    }
    app.addHook('onClose', async () => {
      await events.close().catch(() => {});
      await closeRedis(connection);
    });
  },
  { name: 'job-metrics', dependencies: ['metrics'] },
);
