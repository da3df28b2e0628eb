import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Sql } from '../db/client.js';
import * as conversationsRepo from '../db/repositories/conversations.js';
import * as jobsRepo from '../db/repositories/jobs.js';
import type { IdleJob } from '../db/repositories/jobs.js';
import type { JobRow } from '../db/rows.js';
import { conflict, forbidden, invalidPayload, notFound, rateLimited, unavailable } from '../errors.js';
import { memberFieldOf, parseJobInput, type JobName } from '../queue/catalog.js';
import { idNumber } from '../schemas/common.js';
import type { Caller } from './caller.js';
import { toJobDto, type JobDto } from './job-dto.js';
import type { JobOutputStore } from './job-output.js';
import { jobChanges, type JobStatusStore } from './job-status.js';
import type { JobWatchers } from './job-watchers.js';
import type { OutputChunkDto } from '../schemas/objects.js';
import type { JobQueue } from './ports.js';

export type { IdleJob };

export interface WatchOptions {
  /** The watching socket, recorded so a job's end while it watches brings no notice. */
  socketId?: string;
  /** Stored output chunks with `offset >= outputFrom` come with the snapshot. */
  outputFrom?: number | undefined;
  outputLimit?: number;
  onWatchError?: (err: unknown) => void;
}

export interface WatchResult {
  job: JobDto;
  output: OutputChunkDto[];
  output_has_more: boolean;
}

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

/** MAX_QUEUED_JOBS_PER_USER's default, for producers that do not pass their own. */
export const DEFAULT_MAX_QUEUED_PER_OWNER = 20;

export interface EnqueueDeps {
  sql: Sql;
  queue: Pick<JobQueue, 'enqueue'>;
  /** MAX_QUEUED_JOBS_PER_USER: the owner's waiting and delayed jobs beyond which enqueueing is `rate_limited`. */
  maxQueuedPerOwner?: number;
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
 * A hub (POST /api/jobs) and a producer in another service (src/producer.ts) both come here.
 */
export async function enqueueJob(input: EnqueueInput, deps: EnqueueDeps): Promise<JobDto> {
  const { name, data } = parseJobInput(input.name, input.data);
  const options = parseScheduling(input);
  await assertOwnerMayRun(deps.sql, name, options.ownerId, data);
  const row = await insertOwnership(deps.sql, name, data, options, deps.maxQueuedPerOwner ?? DEFAULT_MAX_QUEUED_PER_OWNER);
  try {
    await deps.queue.enqueue({ id: row.id, name, ownerId: options.ownerId, data, delay: options.delay, priority: options.priority });
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

/**
 * The catalog names the conversation a job touches; a non-member gets `invalid_payload`, the
 * same answer as for a conversation that does not exist: "bad data" in the contract's terms,
 * and it reveals nothing about others' conversations.
 */
async function assertOwnerMayRun(sql: Sql, name: JobName, ownerId: number, data: unknown): Promise<void> {
  const field = memberFieldOf(name);
  if (field === undefined) return;
  const conversationId = (data as Record<string, number>)[field]!;
  if (!(await conversationsRepo.isMember(sql, conversationId, ownerId))) {
    throw invalidPayload(`data.${field}: not a conversation you are a member of`);
  }
}

/**
 * The row is written only while the owner has fewer than `maxQueued` jobs waiting or delayed
 * (counted in Postgres under a lock of that owner), so one user cannot fill the queue.
 */
async function insertOwnership(sql: Sql, name: JobName, data: unknown, options: z.infer<typeof scheduling>, maxQueued: number) {
  const state = options.delay ? 'delayed' : 'waiting';
  let row: JobRow | null;
  try {
    row = await jobsRepo.insertJobWithinLimit(sql, { id: randomUUID(), ownerId: options.ownerId, name, data, state }, maxQueued);
  } catch (err) {
    if (jobsRepo.isUnknownOwner(err)) throw invalidPayload('ownerId: no such user');
    throw err;
  }
  if (!row) throw rateLimited(`At most ${maxQueued} of your jobs may wait at once; try again when some have started`);
  return row;
}

/** Over HTTP another user's job answers 404 like an unknown one: its existence is not revealed. */
export async function ownJob(sql: Sql, ownerId: number, jobId: string): Promise<JobRow> {
  const row = await jobsRepo.findJob(sql, jobId);
  if (!row || row.owner_id !== ownerId) throw notFound('Job');
  return row;
}

/** The job tracker's use cases, for hubs (HTTP and sockets) and workers alike. */
export class JobService {
  constructor(
    private readonly sql: Sql,
    private readonly queue: JobQueue,
    private readonly status: JobStatusStore,
    private readonly output?: JobOutputStore,
    private readonly watchers?: JobWatchers,
    private readonly maxQueuedPerOwner = DEFAULT_MAX_QUEUED_PER_OWNER,
  ) {}

  enqueue(input: EnqueueInput): Promise<JobDto> {
    return enqueueJob(input, { sql: this.sql, queue: this.queue, maxQueuedPerOwner: this.maxQueuedPerOwner });
  }

  async get(caller: Caller, jobId: string): Promise<JobDto> {
    return toJobDto(await ownJob(this.sql, caller.id, jobId));
  }

  /** The caller's jobs, newest first. */
  async list(caller: Caller, limit: number): Promise<JobDto[]> {
    return (await jobsRepo.listJobsOfOwner(this.sql, caller.id, limit)).map(toJobDto);
  }

  /**
   * Authorises, subscribes the caller to the job's changes, records the watch (so the job's end
   * brings no notice while it lasts), and only then reads the snapshot and the stored output
   * from `outputFrom`: a change or chunk stored after that read is also published to the
   * subscription, so nothing is lost (the client drops what it gets twice by `seq` and
   * `offset`). Unlike HTTP, the socket contract tells `forbidden` (another user's job) from
   * `not_found` (none).
   */
  async watch(caller: Caller, jobId: string, subscribe: () => Promise<void>, options: WatchOptions = {}): Promise<WatchResult> {
    const row = await jobsRepo.findJob(this.sql, jobId);
    if (!row) throw notFound('Job');
    if (row.owner_id !== caller.id) throw forbidden('Only the owner of a job can watch it');
    await subscribe();
    if (options.socketId !== undefined) await this.recordWatch(jobId, options.socketId, options.onWatchError);
    const noOutput = { chunks: [], hasMore: false };
    const [job, output] = await Promise.all([
      this.get(caller, jobId),
      options.outputFrom === undefined || !this.output ? noOutput : this.output.read(jobId, options.outputFrom, options.outputLimit ?? 500),
    ]);
    return { job, output: output.chunks, output_has_more: output.hasMore };
  }

  /** The socket stopped watching (job:unwatch, or it disconnected). */
  async unwatch(jobId: string, socketId: string): Promise<void> {
    await this.watchers?.remove(jobId, socketId);
  }

  /** Extends the leases of live watches (each pod, for its own sockets). */
  async renewWatches(watches: ReadonlyArray<readonly [jobId: string, socketId: string]>): Promise<void> {
    await this.watchers?.renew(watches);
  }

  /** Redis down: the watch still works (the room was joined); only a notice may come while it lasts. */
  private async recordWatch(jobId: string, socketId: string, onError?: (err: unknown) => void): Promise<void> {
    try {
      await this.watchers?.add(jobId, socketId);
    } catch (err) {
      onError?.(err);
    }
  }

  /**
   * Cancels a job. A waiting or delayed job is removed from the queue, so it never runs, and is
   * stored as `cancelled` here. An active one cannot be removed (its worker holds the lock): its
   * worker is asked to abort it, and that worker stores `cancelled`; the reply is the snapshot of the moment.
   */
  async cancel(caller: Caller, jobId: string): Promise<JobDto> {
    const row = await ownJob(this.sql, caller.id, jobId);
    if (row.state === 'cancelled') return toJobDto(row);
    if (row.state === 'completed') throw conflict('Job has already completed');
    const queued = await this.queue.stateOf(jobId);
    if (queued === 'completed' || queued === 'failed') throw conflict(`Job has already ${queued}`);
    // Gone from Redis: finished and trimmed by retention, or lost with Redis' data; either way it cannot run.
    if (queued === 'unknown') {
      if (row.state === 'failed') throw conflict('Job has already failed');
      return this.markCancelled(row);
    }
    if (await this.queue.remove(jobId)) return this.markCancelled(row);
    await this.queue.requestAbort(jobId);
    return toJobDto((await jobsRepo.findJob(this.sql, jobId)) ?? row);
  }

  /** A worker's view of the job it is handed: the stored row is the truth, the queue only points at it. */
  stored(jobId: string): Promise<JobRow | null> {
    return jobsRepo.findJob(this.sql, jobId);
  }

  /** Live jobs idle for a while, oldest first, for the reconciler to compare with the queue. */
  idleLive(queuedIdleMs: number, activeIdleMs: number, limit: number): Promise<IdleJob[]> {
    return jobsRepo.listIdleLiveJobs(this.sql, queuedIdleMs, activeIdleMs, limit);
  }

  /** The stored snapshots of these jobs (unknown ids are skipped). */
  async snapshots(jobIds: readonly string[]): Promise<JobDto[]> {
    return (await jobsRepo.findJobs(this.sql, jobIds)).map(toJobDto);
  }

  private async markCancelled(row: JobRow): Promise<JobDto> {
    const stored = await this.status.apply(row.id, jobChanges.cancelled());
    if (stored) return stored;
    const now = (await jobsRepo.findJob(this.sql, row.id)) ?? row;
    if (now.state !== 'cancelled') throw conflict(`Job has already ${now.state}`);
    return toJobDto(now);
  }
}
