import { Queue } from 'bullmq';
import type { Config } from '../config.js';
import type { RedisClient } from '../redis.js';
import { bullPrefix } from '../redis-keys.js';
import { requestAbort } from './cancel.js';
import { policyOf, type JobName, type QueuedJob } from './catalog.js';

/** One queue for every job name: workers run them all, so one queue keeps FIFO fairness across names. */
export const JOBS_QUEUE = 'jobs';

/** What BullMQ stores as a job's data: the owner travels with the job so processors can re-check access. */
export interface JobEnvelope {
  owner_id: number;
  data: unknown;
}

export type JobsQueue = Queue<JobEnvelope, unknown, JobName>;

/**
 * The producer side. It shares a request/response connection (fail fast while Redis is down);
 * only workers need BullMQ's `maxRetriesPerRequest: null` for their blocking reads.
 */
export function createJobsQueue(config: Pick<Config, 'REDIS_PREFIX'>, connection: RedisClient): JobsQueue {
  return new Queue<JobEnvelope, unknown, JobName>(JOBS_QUEUE, { connection, prefix: bullPrefix(config) });
}

/** Adds a job under its Postgres row's id, with the catalog's attempts, backoff and retention for its name. */
export async function addJob(queue: JobsQueue, job: QueuedJob): Promise<void> {
  const { attempts, backoff, removeOnComplete, removeOnFail } = policyOf(job.name);
  const options = { jobId: job.id, attempts, backoff, removeOnComplete, removeOnFail, delay: job.delay, priority: job.priority };
  await queue.add(job.name, { owner_id: job.ownerId, data: job.data }, options);
}

/**
 * BullMQ and the cancel channel as the services' JobQueue port (src/domain/ports.ts). Typed
 * by its shape rather than by importing the port: infrastructure never imports the domain.
 */
export function bullJobQueue(queue: JobsQueue, redis: RedisClient, config: Pick<Config, 'REDIS_PREFIX'>) {
  return {
    enqueue: (job: QueuedJob) => addJob(queue, job),
    stateOf: (jobId: string): Promise<string> => queue.getJobState(jobId),
    // remove() refuses a locked (active) job, which settles the race with a worker fetching it now.
    remove: async (jobId: string) => (await queue.remove(jobId)) === 1,
    requestAbort: (jobId: string) => requestAbort(redis, config, jobId),
  };
}
