import { Backoffs, DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { Config } from '../src/config.js';
import { jobChanges } from '../src/domain/job-status.js';
import type { JobServices } from '../src/domain/services.js';
import { CANCEL_REASON, isAbortRequested } from '../src/queue/cancel.js';
import { JOB_CATALOG, isJobName, policyOf, type JobData, type JobName } from '../src/queue/catalog.js';
import type { JobEnvelope } from '../src/queue/queue.js';
import type { RedisClient } from '../src/redis.js';
import { JobCancelledError } from './outcomes.js';
import { OutputBuffer } from './output-buffer.js';
import { HELD_RECHECK_MS, type OwnerSlots } from './owner-slots.js';
import type { Processor, ProcessorContext, ProcessorJob } from './processor.js';

export interface RunDeps {
  processors: ReadonlyMap<string, Processor>;
  /** Every change goes through the job status store: stored, then published to the job's room. */
  services: JobServices;
  redis: RedisClient;
  config: Config;
  log: Logger;
  /** Filled with the ids of the jobs this process is running (the reconciler leaves them alone). */
  running?: Set<string>;
  /** MAX_ACTIVE_JOBS_PER_USER over every worker; unset, an owner may run any number at once. */
  slots?: OwnerSlots;
}

type BullJob = Job<JobEnvelope>;

const STATUS_TEXT_MAX = 200;

/**
 * The one BullMQ processor: checks for a pending cancel, stores `active`, runs the job's plain
 * processor under an AbortSignal (cancel or time limit), and stores the attempt's outcome
 * itself before BullMQ's bookkeeping: `completed` with its result, a retried failure, or the
 * final failure. Postgres is the truth, so a job whose work finished is stored `completed` even
 * when Redis lost it meanwhile and BullMQ cannot move it any more ("Missing key for job").
 * BullMQ only hands out a signal to processors declaring three parameters.
 */
export function createBullProcessor(deps: RunDeps) {
  return async (job: BullJob, token: string | undefined, signal: AbortSignal | undefined): Promise<unknown> => {
    const { processor, input, outputCount } = await prepare(deps, job);
    if (await isAbortRequested(deps.redis, deps.config, job.id!)) throw new JobCancelledError();
    if (!deps.slots) return runAttempt(deps, job, processor, input, signal, 0, outputCount);
    const holds = await deps.slots.acquire(input.ownerId, job.id!, job.timestamp);
    if (holds === null) {
      // The owner runs MAX_ACTIVE_JOBS_PER_USER jobs already: back to the delayed set, taking
      // no worker's place, until a slot frees (promoted) or the recheck; not an attempt.
      await job.moveToDelayed(Date.now() + HELD_RECHECK_MS, token);
      throw new DelayedError();
    }
    try {
      return await runAttempt(deps, job, processor, input, signal, holds, outputCount);
    } finally {
      await deps.slots.release(input.ownerId, job.id!);
    }
  };
}

async function runAttempt(
  deps: RunDeps,
  job: BullJob,
  processor: Processor,
  input: ProcessorJob<JobData<JobName>>,
  signal: AbortSignal | undefined,
  holds: number,
  outputCount: number,
): Promise<unknown> {
  const started = await deps.services.jobStatus.apply(job.id!, jobChanges.active(job.attemptsMade, startText(job, holds)));
  // Refused: the row is already final (a run whose outcome was stored but which BullMQ could
  // not move, handed out again as stalled) or gone. Running it again would redo finished work.
  if (!started) {
    deps.log.warn({ job: job.id }, 'job is no longer live in Postgres; not running it again');
    return null;
  }
  const { timeoutMs } = policyOf(processor.name);
  const timeout = AbortSignal.timeout(timeoutMs);
  const abort = signal ? AbortSignal.any([signal, timeout]) : timeout;
  let result: unknown;
  deps.running?.add(job.id!);
  const output = outputBuffer(deps, job);
  // A later attempt appends to the output of the earlier ones, after a line saying so.
  if (outputCount > 0) void output.write(attemptLine(job, holds));
  try {
    result = await untilAborted(processor.run(input, context(deps, job, abort, output)), abort);
  } catch (err) {
    const error = attemptError(err, signal, timeout, timeoutMs);
    await output.close();
    await storeFailure(deps, job, error);
    throw error;
  } finally {
    deps.running?.delete(job.id!);
  }
  // Output is stored and emitted before the status that ends the attempt.
  await output.close();
  // Only a write that still fails after the store's retries (Postgres gone for ~30 s) fails the attempt.
  await deps.services.jobStatus.apply(job.id!, jobChanges.completed(job.attemptsMade + 1, result));
  return result;
}

function attemptLine(job: BullJob, holds: number): string {
  const lost = job.attemptsStarted - holds > job.attemptsMade + 1 ? ' (the previous worker was lost)' : '';
  return `--- attempt ${job.attemptsMade + 1}${lost} ---\n`;
}

/**
 * The job's owner, name and data come from its Postgres row, written (and authorised) at
 * enqueue; the BullMQ job is only a pointer to it. Whoever can write to Redis (a writable
 * Bull Board, a shared Redis) could otherwise rewrite owner_id and data and export another
 * user's conversation.
 */
async function prepare(deps: RunDeps, job: BullJob): Promise<{ processor: Processor; input: ProcessorJob<JobData<JobName>>; outputCount: number }> {
  const row = await deps.services.jobs.stored(job.id!);
  if (!row) throw new UnrecoverableError('the job has no ownership row in Postgres');
  if (row.name !== job.name) throw new UnrecoverableError(`the queued name "${job.name}" differs from the stored "${row.name}"`);
  const processor = deps.processors.get(row.name);
  if (!processor || !isJobName(row.name)) throw new UnrecoverableError(`no processor for job name "${row.name}"`);
  const parsed = JOB_CATALOG[row.name].schema.safeParse(row.data);
  if (!parsed.success) throw new UnrecoverableError(`job data does not match the catalog: ${parsed.error.issues[0]?.message}`);
  const input = { id: row.id, name: row.name, data: parsed.data, ownerId: row.owner_id, attemptsMade: job.attemptsMade };
  return { processor, input, outputCount: row.output_count };
}

function outputBuffer(deps: RunDeps, job: BullJob): OutputBuffer {
  return new OutputBuffer(deps.services.jobOutput, job.id!, {
    onError: (err, dropped) => deps.log.error({ err: (err as Error).message, job: job.id, dropped }, 'could not store job output; chunks dropped'),
  });
}

/** Each time a job was held for its owner's slots BullMQ counted a start that was no attempt. */
function startText(job: BullJob, holds: number): string {
  if (job.attemptsStarted - holds > job.attemptsMade + 1) return 'restarted: the previous worker was lost';
  return job.attemptsMade > 0 ? `attempt ${job.attemptsMade + 1} started` : 'started';
}

function context(deps: RunDeps, job: BullJob, signal: AbortSignal, output: OutputBuffer): ProcessorContext {
  return {
    output: async (text) => {
      if (signal.aborted) return;
      await output.write(text);
    },
    signal,
    services: deps.services,
    config: deps.config,
    log: deps.log.child({ job: job.id, name: job.name }),
    progress: async (percent, statusText = null) => {
      // An abandoned attempt must not keep writing over the outcome that replaced it.
      if (signal.aborted) return;
      const progress = Math.min(100, Math.max(0, Math.round(percent)));
      await deps.services.jobStatus.apply(job.id!, jobChanges.progress(progress, statusText?.slice(0, STATUS_TEXT_MAX) ?? null));
    },
  };
}

/** Settles as soon as the signal aborts, even if the processor ignores it: cancel and timeouts always land. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  work.catch(() => {});
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** An abort becomes a cancel (never retried) or a timeout (retried like any failure); other errors pass through. */
function attemptError(err: unknown, cancel: AbortSignal | undefined, timeout: AbortSignal, timeoutMs: number): Error {
  if (cancel?.aborted && cancel.reason === CANCEL_REASON) return new JobCancelledError();
  if (timeout.aborted) return new Error(`timed out after ${timeoutMs} ms`);
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * Stores a failed attempt before BullMQ moves the job: a retried one as the failure then the
 * wait (mirroring BullMQ's own retry decision: attempts left, not unrecoverable, backoff), so no
 * later attempt can be stored ahead of it; a last one as `failed` or `cancelled`.
 */
async function storeFailure(deps: RunDeps, job: BullJob, error: Error): Promise<void> {
  const attemptsMade = job.attemptsMade + 1;
  try {
    if (error instanceof JobCancelledError) {
      await deps.services.jobStatus.apply(job.id!, jobChanges.cancelled(attemptsMade));
      return;
    }
    const delay = await retryDelay(job, error, attemptsMade);
    if (delay === null) {
      await deps.services.jobStatus.apply(job.id!, jobChanges.failed(attemptsMade, error.message));
      return;
    }
    if (!(await deps.services.jobStatus.apply(job.id!, jobChanges.attemptFailed(attemptsMade, error.message)))) return;
    await deps.services.jobStatus.apply(job.id!, jobChanges.retryScheduled(delay > 0 ? 'delayed' : 'waiting', delay));
  } catch (err) {
    deps.log.error({ err, job: job.id }, 'could not store a failed attempt');
  }
}

/** BullMQ's decision: the delay before the next attempt, or null when this was the last one. */
async function retryDelay(job: BullJob, error: Error, attemptsMade: number): Promise<number | null> {
  if (error instanceof UnrecoverableError || attemptsMade >= (job.opts.attempts ?? 1)) return null;
  const backoff = Backoffs.normalize(job.opts.backoff ?? 0);
  const delay = backoff ? ((await Backoffs.calculate(backoff, attemptsMade, error, job)) ?? 0) : 0;
  return delay === -1 ? null : delay;
}
