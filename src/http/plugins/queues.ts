import fp from 'fastify-plugin';
import type { Config } from '../../config.js';
import type { JobDeps } from '../../domain/jobs.js';
import { enqueueJob, type EnqueueInput } from '../../queue/producer.js';
import { createJobsQueue } from '../../queue/queue.js';
import { resendJobSnapshotsAfterRedisReturns } from '../../queue/resend.js';
import { JobStatusStore } from '../../queue/status.js';
import type { JobDto } from '../../domain/job-dto.js';
import { jobRoom } from '../../realtime/rooms.js';

/** The hub's side of the job tracker: the producer queue and the status store for cancels. */
export interface HubJobs extends JobDeps {
  enqueue(input: EnqueueInput): Promise<JobDto>;
}

declare module 'fastify' {
  interface FastifyInstance {
    jobs: HubJobs;
  }
}

/**
 * Owns the BullMQ Queue (on the hub's shared Redis connection, which BullMQ leaves open)
 * and closes it with the app. A cancel the hub stores is published through its own adapter.
 */
export default fp<{ config: Config }>(
  async (app, { config }) => {
    const queue = createJobsQueue(config, app.redis);
    queue.on('error', (err) => app.log.warn({ err: err.message }, 'job queue error'));
    const sql = app.dbHandle.sql;
    const status = new JobStatusStore(sql, (job) => app.broadcaster.inbox.to(jobRoom(job.job_id)).emit('job:status', job));
    const jobs: HubJobs = {
      sql,
      queue,
      redis: app.redis,
      config,
      status,
      enqueue: (input) => enqueueJob(input, { sql, queue }),
    };
    app.decorate('jobs', jobs);
    const stopResending = resendJobSnapshotsAfterRedisReturns(app.broadcaster.inbox, sql, app.log);
    app.addHook('onClose', async () => {
      stopResending();
      await queue.close();
    });
  },
  { name: 'queues', dependencies: ['db', 'redis', 'socket-io'] },
);
