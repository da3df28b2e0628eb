import { Queue } from 'bullmq';
import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import type { Config } from '../src/config.js';
import * as jobsRepo from '../src/db/repositories/jobs.js';
import { CANCEL_REASON } from '../src/queue/cancel.js';
import { JOBS_QUEUE, type JobEnvelope } from '../src/queue/queue.js';
import { jobChanges, type JobChange, type JobStatusStore } from '../src/queue/status.js';
import type { RedisClient } from '../src/redis.js';
import { bullPrefix } from '../src/redis-keys.js';

export interface ReconcilerDeps {
  config: Pick<Config, 'REDIS_PREFIX' | 'REDIS_CLUSTER_NODES' | 'JOB_LOCK_MS'>;
  redis: RedisClient;
  sql: Sql;
  store: JobStatusStore;
  log: Logger;
}

/** Started, it makes a first pass at once, then one every minute. */
export interface Reconciler {
  close(): Promise<void>;
}

const EVERY_MS = 60_000;
const BATCH = 200;
/** Stored when the queue has no trace of a job Postgres still shows as live. */
export const LOST_JOB_ERROR = 'lost from the queue (Redis no longer has it)';

/**
 * Postgres and the queue can disagree after a crash: a worker killed between BullMQ moving a
 * job to completed and storing that outcome, a producer killed between writing the ownership
 * row and enqueueing, or a Redis restarted without its data. Watchers would then see a job
 * stay `active` or `waiting` forever. Every worker compares the live jobs that have been idle
 * a while with the queue, at start and every minute, and stores the queue's verdict through
 * the usual guards, so a pass racing the normal path changes nothing.
 */
export function startReconciler(deps: ReconcilerDeps): Reconciler {
  const queue = new Queue<JobEnvelope>(JOBS_QUEUE, { connection: deps.redis, prefix: bullPrefix(deps.config) });
  // Past any lock a live worker still holds, and past the moment between the ownership row and the enqueue.
  const idleMs = Math.max(60_000, 2 * deps.config.JOB_LOCK_MS);
  let running: Promise<void> | null = null;
  // One pass at a time: a tick during a slow pass is skipped, not run twice over.
  const pass = () => {
    running ??= reconcile(deps, queue, idleMs)
      .catch((err: unknown) => deps.log.warn({ err: (err as Error).message }, 'job reconciliation failed'))
      .finally(() => (running = null));
  };
  const timer = setInterval(pass, EVERY_MS);
  timer.unref();
  pass();
  return {
    close: async () => {
      clearInterval(timer);
      await running;
      await queue.close();
    },
  };
}

async function reconcile(deps: ReconcilerDeps, queue: Queue<JobEnvelope>, idleMs: number): Promise<void> {
  for (const row of await jobsRepo.listIdleLiveJobs(deps.sql, idleMs, BATCH)) {
    const change = await verdictOf(queue, row.id, row.attempts_made);
    if (change && (await deps.store.apply(row.id, change))) {
      deps.log.warn({ job: row.id, was: row.state, now: change.set.state }, 'job snapshot reconciled with the queue');
    }
  }
}

/** What the queue says became of a job, when that is final; null while it may still run. */
async function verdictOf(queue: Queue<JobEnvelope>, jobId: string, storedAttempts: number): Promise<JobChange | null> {
  const state = await queue.getJobState(jobId);
  if (state === 'unknown') return jobChanges.failed(storedAttempts, LOST_JOB_ERROR);
  if (state !== 'completed' && state !== 'failed') return null;
  const job = await queue.getJob(jobId);
  if (!job) return null; // trimmed between the two reads: the next pass sees it as unknown
  if (state === 'completed') return jobChanges.completed(job.attemptsMade, job.returnvalue);
  // A cancelled attempt fails with JobCancelledError, whose message is the cancel reason.
  return job.failedReason === CANCEL_REASON
    ? jobChanges.cancelled(job.attemptsMade)
    : jobChanges.failed(job.attemptsMade, job.failedReason);
}
