import type { JSONValue, PendingQuery, Row } from 'postgres';
import type { JobState } from '../../schemas/common.js';
import type { Executor, Sql } from '../client.js';
import type { JobRow, NoticeRow } from '../rows.js';

export interface NewJob {
  id: string;
  ownerId: number;
  name: string;
  data: unknown;
  state: 'waiting' | 'delayed';
}

/** The fields a status change may set; an absent field keeps its stored value. */
export interface SnapshotPatch {
  state?: JobState;
  progress?: number;
  statusText?: string | null;
  result?: unknown;
  error?: string | null;
  attemptsMade?: number;
}

const FOREIGN_KEY_VIOLATION = '23503';

export const isUnknownOwner = (err: unknown) => (err as { code?: unknown }).code === FOREIGN_KEY_VIOLATION;

/** The ownership row, written before the job reaches the queue; creation is change number 1. */
export async function insertJob(sql: Executor, job: NewJob): Promise<JobRow> {
  const [row] = await sql<JobRow[]>`
    insert into jobs (id, owner_id, name, data, state, seq)
    values (${job.id}, ${job.ownerId}, ${job.name}, ${jsonData(sql, job.data)}, ${job.state}, 1)
    returning *`;
  return row!;
}

/** The advisory lock class of one owner's queued count (two-int form: this class, the owner id). */
const QUEUED_LOCK_CLASS = 0x4a4f4253; // "JOBS"

/**
 * insertJob unless the owner already has `maxQueued` jobs waiting or delayed: the count and the
 * insert run under a transaction-scoped advisory lock of that owner, so two pods enqueueing at
 * once cannot both take the last place. One index-only count (jobs_owner_queued_idx). Returns
 * null when the owner is at the limit.
 */
export function insertJobWithinLimit(sql: Sql, job: NewJob, maxQueued: number): Promise<JobRow | null> {
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${QUEUED_LOCK_CLASS}, ${job.ownerId})`;
    const [counted] = await tx<{ n: number }[]>`
      select count(*)::int as n from jobs where owner_id = ${job.ownerId} and state in ('waiting', 'delayed')`;
    if (counted!.n >= maxQueued) return null;
    return insertJob(tx, job);
  }) as Promise<JobRow | null>;
}

/** Undoes insertJob when the queue refused the job, so no row points at a job that never existed. */
export async function deleteJob(sql: Executor, id: string): Promise<void> {
  await sql`delete from jobs where id = ${id}`;
}

export async function findJob(sql: Executor, id: string): Promise<JobRow | null> {
  const rows = await sql<JobRow[]>`select * from jobs where id = ${id}`;
  return rows[0] ?? null;
}

/** A user's jobs, newest first (served by jobs_owner_created_idx). */
export function listJobsOfOwner(sql: Executor, ownerId: number, limit: number): Promise<JobRow[]> {
  return sql<JobRow[]>`
    select * from jobs where owner_id = ${ownerId}
    order by created_at desc, id desc limit ${limit}`;
}

/** A notice to store with a job's end, in the statement that stores the end. */
export interface EndNotice {
  kind: NoticeRow['kind'];
  /** The notice's title per job name; `fallback` for a name not listed. */
  titles: Record<string, string>;
  fallback: string;
}

/**
 * Applies one change to a job's snapshot if its stored state is one of `from`, bumping `seq`
 * in the same statement: the row lock orders concurrent writers, so seqs strictly increase.
 * Returns null when the guard refused the change (the job moved on without this writer).
 * With `notice`, the same statement stores the owner's notice of this end; the unique
 * (job_id, kind) key keeps it to one, whoever else reports the same end: `notice` is null
 * when it already existed.
 */
export async function updateSnapshot(
  sql: Executor,
  id: string,
  patch: SnapshotPatch,
  from: readonly JobState[],
  notice?: EndNotice,
): Promise<(JobRow & { notice: NoticeRow | null }) | null> {
  if (!notice) {
    const rows = await sql<JobRow[]>`
      update jobs set ${assignments(sql, patch)} seq = seq + 1, updated_at = clock_timestamp()
      where id = ${id} and state in ${sql([...from])}
      returning *`;
    return rows[0] ? { ...rows[0], notice: null } : null;
  }
  const rows = await sql<Array<JobRow & Partial<Record<`notice_${keyof NoticeRow}`, unknown>>>>`
    with u as (
      update jobs set ${assignments(sql, patch)} seq = seq + 1, updated_at = clock_timestamp()
      where id = ${id} and state in ${sql([...from])}
      returning *
    ), n as (
      insert into notices (user_id, kind, job_id, title)
      select owner_id, ${notice.kind}, id, coalesce(${sql.json(notice.titles)}::jsonb ->> name, ${notice.fallback}) from u
      on conflict (job_id, kind) do nothing
      returning *
    )
    select u.*, n.id as notice_id, n.user_id as notice_user_id, n.kind as notice_kind, n.job_id as notice_job_id,
      n.title as notice_title, n.created_at as notice_created_at, n.read_at as notice_read_at
    from u left join n on true`;
  const row = rows[0];
  if (!row) return null;
  const { notice_id, notice_user_id, notice_kind, notice_job_id, notice_title, notice_created_at, notice_read_at, ...job } = row;
  const stored =
    notice_id == null
      ? null
      : ({ id: Number(notice_id), user_id: notice_user_id, kind: notice_kind, job_id: notice_job_id, title: notice_title, created_at: notice_created_at, read_at: notice_read_at } as NoticeRow);
  return { ...(job as JobRow), notice: stored };
}

function assignments(sql: Executor, p: SnapshotPatch): PendingQuery<Row[]> {
  const parts: PendingQuery<Row[]>[] = [];
  if (p.state !== undefined) parts.push(sql`state = ${p.state},`);
  if (p.progress !== undefined) parts.push(sql`progress = ${p.progress},`);
  if (p.statusText !== undefined) parts.push(sql`status_text = ${p.statusText},`);
  if (p.result !== undefined) parts.push(p.result === null ? sql`result = null,` : sql`result = ${sql.json(p.result as JSONValue)},`);
  if (p.error !== undefined) parts.push(sql`error = ${p.error},`);
  if (p.attemptsMade !== undefined) parts.push(sql`attempts_made = ${p.attemptsMade},`);
  return parts.reduce((all, part) => sql`${all} ${part}`, sql``);
}

/** `data` is never SQL NULL: absent data is stored as JSON `null` (a null result, by contrast, is SQL NULL). */
function jsonData(sql: Executor, data: unknown): PendingQuery<Row[]> {
  return data === null || data === undefined ? sql`'null'::jsonb` : sql`${sql.json(data as JSONValue)}`;
}

export type IdleJob = Pick<JobRow, 'id' | 'owner_id' | 'name' | 'data' | 'state' | 'attempts_made'>;

/**
 * Jobs Postgres still shows as live though they have not changed for a while: `waiting` or
 * `delayed` ones idle for `queuedIdleMs`, `active` ones for `activeIdleMs` (a running job
 * writes progress; a quiet one may still be running). The reconciler compares them with the
 * queue (oldest first, at most `limit`).
 */
export function listIdleLiveJobs(sql: Executor, queuedIdleMs: number, activeIdleMs: number, limit: number): Promise<IdleJob[]> {
  return sql<IdleJob[]>`
    select id, owner_id, name, data, state, attempts_made from jobs
    where (state in ('waiting', 'delayed') and updated_at < now() - make_interval(secs => ${queuedIdleMs / 1000}))
       or (state = 'active' and updated_at < now() - make_interval(secs => ${activeIdleMs / 1000}))
    order by updated_at limit ${limit}`;
}

/** The rows of these jobs (unknown ids are skipped), for re-sending their snapshots. */
export function findJobs(sql: Executor, ids: readonly string[]): Promise<JobRow[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return sql<JobRow[]>`select * from jobs where id in ${sql([...ids])}`;
}
