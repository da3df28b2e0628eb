import { randomUUID } from 'node:crypto';
import type { Sql } from 'postgres';
import { z } from 'zod';
import type { Config } from '../config.js';
import { createDb } from '../db/client.js';
import * as jobsRepo from '../db/repositories/jobs.js';
import type { JobDto } from '../domain/job-dto.js';
import { toJobDto } from '../domain/jobs.js';
import { invalidPayload, unavailable } from '../errors.js';
import { idNumber } from '../schemas/common.js';
import { createRedisClient, redisTarget, waitForRedis } from '../redis.js';
import { authorizeJob, parseJobInput, policyOf, type JobName } from './catalog.js';
import { createJobsQueue, type JobsQueue } from './queue.js';

/** A job to enqueue: a catalog name, its data, the user who owns it, and optional scheduling. */
export interface EnqueueInput {
  name: string;
  data?: unknown;
  /** The user who may see and watch the job; must exist. */
  ownerId: number;
  /** Milliseconds before the job may start; it is `delayed` until then. */
  delay?: number;
  /** BullMQ priority: 1 is the highest; unset jobs run first-in first-out before prioritised ones. */
  priority?: number;
}

export interface ProducerDeps {
  sql: Sql;
  queue: JobsQueue;
}

const scheduling = z.object({
  ownerId: idNumber(),
  delay: z.number().int().min(0).max(365 * 24 * 3600 * 1000).optional(),
  priority: z.number().int().min(1).max(2_097_152).optional(),
});

/**
 * Validates, writes the ownership row, then adds the job to the queue: the row exists before
 * any worker can start the job, so its owner can always be authorised to watch it.
 * Unknown names and bad data throw `invalid_payload` before anything is stored or enqueued.
 */
export async function enqueueJob(input: EnqueueInput, deps: ProducerDeps): Promise<JobDto> {
  const { name, data } = parseJobInput(input.name, input.data);
  const options = parseScheduling(input);
  await authorizeJob(deps.sql, name, options.ownerId, data);
  const row = await insertOwnership(deps.sql, name, data, options);
  try {
    await deps.queue.add(name, { owner_id: options.ownerId, data }, bullOptions(name, row.id, options));
  } catch (err) {
    await jobsRepo.deleteJob(deps.sql, row.id).catch(() => {});
    // The Redis error stays out of the reply but goes to the log with the 503.
    throw Object.assign(unavailable('The queue is unavailable; nothing was enqueued'), { cause: err });
  }
  // Creation is not published: nobody can be watching a job whose id has not been handed out yet.
  return toJobDto(row);
}

function parseScheduling(input: EnqueueInput) {
  const parsed = scheduling.safeParse({ ownerId: input.ownerId, delay: input.delay, priority: input.priority });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw invalidPayload(`${issue?.path.join('.') ?? 'options'}: ${issue?.message ?? 'is invalid'}`);
  }
  return parsed.data;
}

async function insertOwnership(sql: Sql, name: JobName, data: unknown, options: z.infer<typeof scheduling>) {
  const state = options.delay ? 'delayed' : 'waiting';
  try {
    return await jobsRepo.insertJob(sql, { id: randomUUID(), ownerId: options.ownerId, name, data, state });
  } catch (err) {
    if (jobsRepo.isUnknownOwner(err)) throw invalidPayload('ownerId: no such user');
    throw err;
  }
}

function bullOptions(name: JobName, jobId: string, options: z.infer<typeof scheduling>) {
  const { attempts, backoff, removeOnComplete, removeOnFail } = policyOf(name);
  return { jobId, attempts, backoff, removeOnComplete, removeOnFail, delay: options.delay, priority: options.priority };
}

/** A producer with its own connections, for services that are neither a hub nor a worker. */
export interface JobProducer {
  enqueueJob(input: EnqueueInput): Promise<JobDto>;
  close(): Promise<void>;
}

/** Opens a small Postgres pool and a Redis connection for enqueueing; `close()` releases both. */
export async function createProducer(
  config: Pick<Config, 'DATABASE_URL' | 'REDIS_URL' | 'REDIS_CLUSTER_NODES' | 'REDIS_PREFIX'>,
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
    enqueueJob: (input) => enqueueJob(input, { sql: db.sql, queue }),
    close: async () => {
      await queue.close();
      await redis.quit().catch(() => redis.disconnect());
      await db.close();
    },
  };
}
