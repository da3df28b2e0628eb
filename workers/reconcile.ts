import type { Logger } from 'pino';
import type { Config } from '../src/config.js';
import { jobChanges, type JobChange } from '../src/domain/job-status.js';
import type { IdleJob } from '../src/domain/jobs.js';
import type { JobServices } from '../src/domain/services.js';
import { CANCEL_REASON } from '../src/queue/cancel.js';
import { JOB_CATALOG, isJobName, policyOf } from '../src/queue/catalog.js';
import type { JobsQueue } from '../src/queue/queue.js';
import type { RedisClient } from '../src/redis.js';

export interface ReconcilerDeps {
  config: Pick<Config, 'JOB_LOCK_MS'>;
  /** Its `close` and `ready` events tell when Redis came back. */
  redis: RedisClient;
  /** The queue to compare with (the worker's own; closed by its owner, not here). */
  queue: JobsQueue;
  services: Pick<JobServices, 'jobs' | 'jobStatus'>;
  log: Logger;
  /** Jobs this process is running now: never re-enqueued from here, whatever the queue says. */
  running?: () => ReadonlySet<string>;
}

/** Started, it makes a first pass at once, then one every minute, and two soon after Redis comes back. */
export interface Reconciler {
  close(): Promise<void>;
}

const EVERY_MS = 60_000;
const BATCH = 200;
/**
 * Right after Redis came back, a `waiting` or `delayed` row this long unchanged is compared with
 * the queue: far past the moment between the ownership row and the enqueue (milliseconds). The
 * other passes use the wider window of active jobs, so workers of another REDIS_PREFIX sharing
 * the database (which they should not) rarely see a row their queue does not know.
 */
export const QUEUED_IDLE_MS = 10_000;
/** After Redis reconnects: one pass at once, one when the rows written just before the loss are idle too. */
const AFTER_RECONNECT_MS = [1000, QUEUED_IDLE_MS + 1000];
/** Stored when a job the queue lost cannot run again (attempts used up, a name or data the catalog refuses). */
export const LOST_JOB_ERROR = 'lost from the queue (Redis no longer has it)';
/** The status text of a job enqueued again from its row. */
export const REQUEUED_TEXT = 'requeued: the queue lost it (Redis restarted); starting again';

/**
 * Postgres and the queue can disagree after a crash: a producer killed between writing the
 * ownership row and enqueueing, a worker killed between BullMQ's bookkeeping and its own write,
 * or a Redis restarted without its data. Watchers would then see a job stay `active` or
 * `waiting` forever. Every worker compares the live jobs that have been idle a while with the
 * queue, at start, every minute and right after its Redis connection comes back, and stores
 * the queue's verdict through the usual guards, so a pass racing the normal path changes
 * nothing. Postgres is the truth: a job the queue has no trace of is enqueued again from its
 * row (its watcher sees it go back to `waiting` and run from the start), and fails only when
 * it cannot run again.
 */
export function startReconciler(deps: ReconcilerDeps): Reconciler {
  const queue = deps.queue;
  // Past any lock a live worker still holds on a running job that writes no progress for a while.
  const activeIdleMs = Math.max(60_000, 2 * deps.config.JOB_LOCK_MS);
  let running: Promise<void> | null = null;
  let closed = false;
  // One pass at a time: a tick during a slow pass is skipped, not run twice over.
  const pass = (queuedIdleMs = activeIdleMs) => {
    if (closed) return;
    running ??= reconcile(deps, queue, queuedIdleMs, activeIdleMs)
      .catch((err: unknown) => deps.log.warn({ err: (err as Error).message }, 'job reconciliation failed'))
      .finally(() => (running = null));
  };
  const timer = setInterval(() => pass(), EVERY_MS);
  timer.unref();
  const soon = new Set<NodeJS.Timeout>();
  const afterReconnect = onReconnect(deps.redis, () => {
    deps.log.info('redis connection back: comparing live jobs with the queue');
    for (const ms of AFTER_RECONNECT_MS) {
      const t = setTimeout(() => {
        soon.delete(t);
        pass(QUEUED_IDLE_MS);
      }, ms);
      t.unref();
      soon.add(t);
    }
  });
  pass();
  return {
    close: async () => {
      closed = true;
      clearInterval(timer);
      for (const t of soon) clearTimeout(t);
      afterReconnect();
      await running;
    },
  };
}

/** Calls `fn` each time the client is ready again after losing its connection; returns the unsubscribe. */
function onReconnect(redis: RedisClient, fn: () => void): () => void {
  let lost = false;
  const onClose = () => void (lost = true);
  const onReady = () => {
    if (!lost) return;
    lost = false;
    fn();
  };
  redis.on('close', onClose);
  redis.on('ready', onReady);
  return () => {
    redis.off('close', onClose);
    redis.off('ready', onReady);
  };
}

async function reconcile(deps: ReconcilerDeps, queue: JobsQueue, queuedIdleMs: number, activeIdleMs: number): Promise<void> {
  const mine = deps.running?.() ?? new Set<string>();
  for (const row of await deps.services.jobs.idleLive(queuedIdleMs, activeIdleMs, BATCH)) {
    if (mine.has(row.id)) continue;
    const state = await queue.getJobState(row.id);
    if (state === 'unknown') {
      await requeueOrFail(deps, queue, row);
      continue;
    }
    const change = await verdictOf(queue, row.id, state);
    if (change && (await deps.services.jobStatus.apply(row.id, change))) {
      deps.log.warn({ job: row.id, was: row.state, now: change.set.state }, 'job snapshot reconciled with the queue');
    }
  }
}

/** What the queue says became of a job it still holds, when that is final; null while it may still run. */
async function verdictOf(queue: JobsQueue, jobId: string, state: string): Promise<JobChange | null> {
  if (state !== 'completed' && state !== 'failed') return null;
  const job = await queue.getJob(jobId);
  if (!job) return null; // trimmed between the two reads: the next pass sees it as unknown
  if (state === 'completed') return jobChanges.completed(job.attemptsMade, job.returnvalue);
  // A cancelled attempt fails with JobCancelledError, whose message is the cancel reason.
  return job.failedReason === CANCEL_REASON ? jobChanges.cancelled(job.attemptsMade) : jobChanges.failed(job.attemptsMade, job.failedReason);
}

/**
 * The queue has no trace of a live job: enqueue it again from its row, with the attempts it
 * has left. `waiting` is stored first, so the new attempt's `active` can never be overwritten
 * by it; the job id is the row's, so two workers doing this at once enqueue it once.
 */
async function requeueOrFail(deps: ReconcilerDeps, queue: JobsQueue, row: IdleJob): Promise<void> {
  const plan = requeuePlan(row);
  if (!plan) {
    if (await deps.services.jobStatus.apply(row.id, jobChanges.failed(row.attempts_made, LOST_JOB_ERROR))) {
      deps.log.warn({ job: row.id, was: row.state }, 'job lost from the queue and cannot run again: failed');
    }
    return;
  }
  if (!(await deps.services.jobStatus.apply(row.id, jobChanges.requeued(REQUEUED_TEXT)))) return;
  await queue.add(plan.name, { owner_id: row.owner_id, data: plan.data }, { jobId: row.id, ...plan.options });
  deps.log.warn({ job: row.id, was: row.state }, 'job lost from the queue: enqueued again from its row');
}

function requeuePlan(row: IdleJob) {
  if (!isJobName(row.name)) return null;
  const parsed = JOB_CATALOG[row.name].schema.safeParse(row.data);
  const { attempts, backoff, removeOnComplete, removeOnFail } = policyOf(row.name);
  const left = attempts - row.attempts_made;
  if (!parsed.success || left < 1) return null;
  return { name: row.name, data: parsed.data, options: { attempts: left, backoff, removeOnComplete, removeOnFail } };
}
