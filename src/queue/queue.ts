import { Queue } from 'bullmq';
import type { Config } from '../config.js';
import type { RedisClient } from '../redis.js';
import { bullPrefix } from '../redis-keys.js';
import type { JobName } from './catalog.js';

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
