import type { Sql } from 'postgres';
import * as jobsRepo from '../db/repositories/jobs.js';
import type { SnapshotPatch } from '../db/repositories/jobs.js';
import type { JobState } from '../db/schema/index.js';
import type { JobDto } from '../domain/job-dto.js';
import { toJobDto } from '../domain/jobs.js';

/** Sends a stored snapshot to the job's room (`job_<id>` of /inbox), from a hub or a worker. */
export type JobStatusPublisher = (job: JobDto) => void;

/** One change of a job: what to set, and which stored states it may replace. */
export interface JobChange {
  set: SnapshotPatch;
  from: readonly JobState[];
}

const LIVE: readonly JobState[] = ['waiting', 'delayed', 'active'];

/**
 * Every change a job can go through, in one table. The `from` guards keep writers that lost a
 * race (a cancel landing first, a late write from an attempt already over) from rewinding the
 * snapshot: a refused change is neither stored nor published.
 */
export const jobChanges = {
  /** An attempt starts; `failed` is allowed because a retried attempt's failure was stored first. */
  active: (attemptsMade: number, statusText: string | null): JobChange => ({
    set: { state: 'active', progress: 0, statusText, attemptsMade },
    from: [...LIVE, 'failed'],
  }),
  progress: (progress: number, statusText: string | null): JobChange => ({
    set: { progress, statusText },
    from: ['active'],
  }),
  /** One attempt failed and BullMQ will retry it: watchers see the failure, then the wait. */
  attemptFailed: (attemptsMade: number, error: string): JobChange => ({
    set: { state: 'failed', error, attemptsMade, statusText: `attempt ${attemptsMade} failed` },
    from: ['active'],
  }),
  retryScheduled: (state: 'waiting' | 'delayed', delayMs: number): JobChange => ({
    set: { state, statusText: delayMs > 0 ? `retrying in ${delayMs} ms` : 'retrying' },
    from: ['failed'],
  }),
  completed: (attemptsMade: number, result: unknown): JobChange => ({
    set: { state: 'completed', progress: 100, result: result ?? null, error: null, attemptsMade, statusText: 'completed' },
    from: LIVE,
  }),
  failed: (attemptsMade: number, error: string): JobChange => ({
    set: { state: 'failed', error, attemptsMade, statusText: 'failed' },
    from: LIVE,
  }),
  cancelled: (attemptsMade?: number): JobChange => ({
    set: { state: 'cancelled', statusText: 'cancelled', ...(attemptsMade === undefined ? {} : { attemptsMade }) },
    from: [...LIVE, 'failed'],
  }),
} as const;

/**
 * Store, then publish: the snapshot and its `seq` are written first, so a watcher that reads
 * the snapshot after joining the room never misses a change, and nothing is sent that was not stored.
 */
export class JobStatusStore {
  constructor(
    private readonly sql: Sql,
    private readonly publish: JobStatusPublisher,
  ) {}

  /** The stored and published job, or null when the guard refused the change. */
  async apply(jobId: string, change: JobChange): Promise<JobDto | null> {
    const row = await jobsRepo.updateSnapshot(this.sql, jobId, change.set, change.from);
    if (!row) return null;
    const job = toJobDto(row);
    this.publish(job);
    return job;
  }
}
