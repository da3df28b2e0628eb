import { setTimeout as sleep } from 'node:timers/promises';
import type { Sql } from '../db/client.js';
import * as jobsRepo from '../db/repositories/jobs.js';
import type { SnapshotPatch } from '../db/repositories/jobs.js';
import type { JobRow, NoticeRow } from '../db/rows.js';
import { isStorageUnavailable } from '../errors.js';
import type { JobState } from '../schemas/common.js';
import type { NoticeKind } from '../schemas/objects.js';
import { toJobDto, type JobDto } from './job-dto.js';
import type { JobWatchers } from './job-watchers.js';
import { endNotice, toNoticeDto } from './notices.js';
import type { JobStatusPublisher } from './ports.js';

/** One change of a job: what to set, and which stored states it may replace. */
export interface JobChange {
  set: SnapshotPatch;
  from: readonly JobState[];
  /** The job's end this change stores, if it is one: it may come with a notice for the owner. */
  ends?: NoticeKind;
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
    ends: 'job.completed',
  }),
  /** The last attempt failed (a retried one is `attemptFailed`). */
  failed: (attemptsMade: number, error: string): JobChange => ({
    set: { state: 'failed', error, attemptsMade, statusText: 'failed' },
    from: LIVE,
    ends: 'job.failed',
  }),
  /**
   * The queue lost a job that had not finished (Redis restarted without its data): it goes
   * back to `waiting`, from the start, and is enqueued again from its row.
   */
  requeued: (reason: string): JobChange => ({
    set: { state: 'waiting', progress: 0, statusText: reason },
    from: LIVE,
  }),
  cancelled: (attemptsMade?: number): JobChange => ({
    set: { state: 'cancelled', statusText: 'cancelled', ...(attemptsMade === undefined ? {} : { attemptsMade }) },
    from: [...LIVE, 'failed'],
    ends: 'job.cancelled',
  }),
} as const;

export interface JobStatusStoreOptions {
  /**
   * How long a write that hit a connection-class error (Postgres restarting, refusing, a
   * connection dropped) is retried, with backoff, before the error is thrown. Workers use
   * ~30 s so a Postgres restart never fails a job's attempt; the hub uses none, since an HTTP
   * request must answer within its own deadline.
   */
  retryForMs?: number;
  /** Told about each retried write (without its parameters). */
  onRetry?: (jobId: string, err: unknown, attempt: number) => void;
}

const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 2000;

/**
 * The one way a job's snapshot changes, in a hub (a cancel) or a worker (every other change).
 * Store, then publish: the snapshot and its `seq` are written first, so a watcher that reads
 * the snapshot after joining the room never misses a change, and nothing is sent that was not
 * stored. The publisher is the hub's Broadcaster or a worker's Redis room emitter.
 */
export class JobStatusStore {
  private readonly retryForMs: number;

  constructor(
    private readonly sql: Sql,
    private readonly publisher: JobStatusPublisher,
    private readonly options: JobStatusStoreOptions = {},
    /** Without it (a producer), every end is stored with a notice. */
    private readonly watchers?: Pick<JobWatchers, 'isWatched'>,
  ) {
    this.retryForMs = options.retryForMs ?? 0;
  }

  /**
   * The stored and published job, or null when the guard refused the change. A job's end
   * (completed, last failure, cancelled) that no socket watches at this moment is stored with
   * the owner's notice in the same statement, then the notice goes to the owner's sockets.
   */
  async apply(jobId: string, change: JobChange): Promise<JobDto | null> {
    const withNotice = change.ends !== undefined && !(await this.watchers?.isWatched(jobId));
    const row = await this.write(jobId, change, withNotice);
    if (!row) return null;
    const job = toJobDto(row);
    this.publisher.jobStatus(job);
    if (row.notice) this.publisher.noticeNew(row.owner_id, toNoticeDto(row.notice));
    return job;
  }

  /**
   * One guarded UPDATE, retried while Postgres is unreachable. A retry after an error that
   * may have come after the commit (the connection dropped mid-statement) can find its own
   * change already stored: the guard then refuses it, and the stored row is returned if it
   * already says what this change says, so the change is still published once.
   */
  private async write(jobId: string, change: JobChange, withNotice: boolean): Promise<(JobRow & { notice: NoticeRow | null }) | null> {
    const notice = withNotice && change.ends ? endNotice(change.ends) : undefined;
    const deadline = performance.now() + this.retryForMs;
    for (let attempt = 1, backoff = FIRST_BACKOFF_MS; ; attempt++, backoff = Math.min(MAX_BACKOFF_MS, backoff * 2)) {
      try {
        const row = await jobsRepo.updateSnapshot(this.sql, jobId, change.set, change.from, notice);
        if (row || attempt === 1) return row;
        // A notice stored with that first try is not sent again; the owner reads it from the list.
        const now = await jobsRepo.findJob(this.sql, jobId);
        return now && alreadyApplied(now, change) ? { ...now, notice: null } : null;
      } catch (err) {
        if (!isStorageUnavailable(err) || performance.now() + backoff > deadline) throw err;
        this.options.onRetry?.(jobId, err, attempt);
        await sleep(backoff);
      }
    }
  }
}

function alreadyApplied(row: JobRow, change: JobChange): boolean {
  const { state, progress, statusText } = change.set;
  return (state === undefined || row.state === state) && (progress === undefined || row.progress === progress) && (statusText === undefined || row.status_text === statusText);
}
