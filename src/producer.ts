import type { Config } from './config.js';
import { createDb, type Sql } from './db/client.js';
import { enqueueJob as enqueue, type EnqueueInput } from './domain/jobs.js';
import type { JobDto } from './domain/job-dto.js';
import type { QueuedJob } from './queue/catalog.js';
import { addJob, createJobsQueue, type JobsQueue } from './queue/queue.js';
import { createRedisClient, redisTarget, waitForRedis } from './redis.js';

export type { EnqueueInput };

/**
 * Enqueues over a pool and a BullMQ queue the caller already holds: validates, writes the
 * ownership row, then adds the job (src/domain/jobs.ts). An owner with `maxQueuedPerOwner`
 * (MAX_QUEUED_JOBS_PER_USER, default 20) jobs waiting or delayed gets `rate_limited`.
 */
export function enqueueJob(input: EnqueueInput, deps: { sql: Sql; queue: JobsQueue; maxQueuedPerOwner?: number }): Promise<JobDto> {
  const queue = { enqueue: (job: QueuedJob) => addJob(deps.queue, job) };
  return enqueue(input, { sql: deps.sql, queue, maxQueuedPerOwner: deps.maxQueuedPerOwner });
}

/** A producer with its own connections, for services that are neither a hub nor a worker. */
export interface JobProducer {
  enqueueJob(input: EnqueueInput): Promise<JobDto>;
  close(): Promise<void>;
}

/** Opens a small Postgres pool and a Redis connection for enqueueing; `close()` releases both. */
export async function createProducer(
  config: Pick<Config, 'DATABASE_URL' | 'REDIS_URL' | 'REDIS_CLUSTER_NODES' | 'REDIS_PREFIX'> & Partial<Pick<Config, 'MAX_QUEUED_JOBS_PER_USER'>>,
): Promise<JobProducer> {
  const db = createDb({ url: config.DATABASE_URL, max: 2 });
  const redis = createRedisClient({ ...redisTarget(config), name: 'job-producer' });
  try {
    await waitForRedis(redis);
  } catch (err) {
    redis.disconnect();
    await db.close();
    throw err;
  }
  const queue = createJobsQueue(config, redis);
  return {
    enqueueJob: (input) => enqueueJob(input, { sql: db.sql, queue, maxQueuedPerOwner: config.MAX_QUEUED_JOBS_PER_USER }),
    close: async () => {
      await queue.close();
      await redis.quit().catch(() => redis.disconnect());
      await db.close();
    },
  };
}
