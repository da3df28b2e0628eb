import { UnrecoverableError, type Job, type Worker } from 'bullmq';
import type { Logger } from 'pino';
import type { Config } from '../src/config.js';
import { jobChanges, type JobChange, type JobStatusStore } from '../src/domain/job-status.js';
import { CANCEL_REASON, clearAbortRequest } from '../src/queue/cancel.js';
import type { JobName } from '../src/queue/catalog.js';
import type { JobEnvelope } from '../src/queue/queue.js';
import type { RedisClient } from '../src/redis.js';

/** Thrown when the owner cancelled: unrecoverable, so BullMQ never retries it, and told apart from a failure. */
export class JobCancelledError extends UnrecoverableError {
  constructor() {
    super(CANCEL_REASON);
    this.name = 'JobCancelledError';
  }
}

type BullJob = Job<JobEnvelope, unknown, JobName>;

/**
 * The attempt itself stores its outcome before BullMQ's bookkeeping (workers/run-job.ts), so a
 * finished job is stored whatever Redis says. These event handlers are the fallback for the
 * outcomes no attempt stored (a job refused before it ran); for the others the guards refuse
 * the second write, so nothing is published twice. The writes are tracked, so closing waits for them.
 */
export function reportOutcomes(worker: Worker<JobEnvelope, unknown, JobName>, deps: { store: JobStatusStore; redis: RedisClient; config: Pick<Config, 'REDIS_PREFIX'>; log: Logger }) {
  const pending = new Set<Promise<unknown>>();
  const track = (job: BullJob, change: JobChange) => {
    const write = Promise.all([deps.store.apply(job.id!, change), clearAbortRequest(deps.redis, deps.config, job.id!)]).catch((err: unknown) =>
      deps.log.error({ err, job: job.id }, 'could not store a job outcome'),
    );
    pending.add(write);
    void write.finally(() => pending.delete(write));
  };
  worker.on('completed', (job, result) => track(job, jobChanges.completed(job.attemptsMade, result)));
  worker.on('failed', (job, err) => {
    if (!job) return;
    if (err instanceof JobCancelledError) track(job, jobChanges.cancelled(job.attemptsMade));
    else if (isFinalFailure(job, err)) track(job, jobChanges.failed(job.attemptsMade, err.message));
  });
  return { flush: async () => void (await Promise.allSettled([...pending])) };
}

/** A failure BullMQ will not retry; a retried one was already stored by the attempt itself. */
function isFinalFailure(job: BullJob, err: Error): boolean {
  return Boolean(job.finishedOn) || err instanceof UnrecoverableError || err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
}
