import type { PendingQuery, Row, Sql } from 'postgres';
import type { JobState } from '../../schemas/common.js';

/** A row of `jobs` as postgres.js returns it (timestamps may arrive as text, see toIso). */
export interface JobRecord {
  id: string;
  owner_id: number;
  name: string;
  data: unknown;
  state: JobState;
  progress: number;
  status_text: string | null;
  result: unknown;
  error: string | null;
  attempts_made: number;
  seq: number;
  created_at: Date | string;
  updated_at: Date | string;
}

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
export async function insertJob(sql: Sql, job: NewJob): Promise<JobRecord> {
  const [row] = await sql<JobRecord[]>`
    insert into jobs (id, owner_id, name, data, state, seq)
    values (${job.id}, ${job.ownerId}, ${job.name}, ${JSON.stringify(job.data ?? null)}::jsonb, ${job.state}, 1)
    returning *`;
  return row!;
}

/** Undoes insertJob when the queue refused the job, so no row points at a job that never existed. */
export async function deleteJob(sql: Sql, id: string): Promise<void> {
  await sql`delete from jobs where id = ${id}`;
}

export async function findJob(sql: Sql, id: string): Promise<JobRecord | null> {
  const rows = await sql<JobRecord[]>`select * from jobs where id = ${id}`;
  return rows[0] ?? null;
}

/** A user's jobs, newest first (served by jobs_owner_created_idx). */
export function listJobsOfOwner(sql: Sql, ownerId: number, limit: number): Promise<JobRecord[]> {
  return sql<JobRecord[]>`
    select * from jobs where owner_id = ${ownerId}
    order by created_at desc, id desc limit ${limit}`;
}

/**
 * Applies one change to a job's snapshot if its stored state is one of `from`, bumping `seq`
 * in the same statement: the row lock orders concurrent writers, so seqs strictly increase.
 * Returns null when the guard refused the change (the job moved on without this writer).
 */
export async function updateSnapshot(
  sql: Sql,
  id: string,
  patch: SnapshotPatch,
  from: readonly JobState[],
): Promise<JobRecord | null> {
  const rows = await sql<JobRecord[]>`
    update jobs set ${assignments(sql, patch)} seq = seq + 1, updated_at = clock_timestamp()
    where id = ${id} and state in ${sql([...from])}
    returning *`;
  return rows[0] ?? null;
}

function assignments(sql: Sql, p: SnapshotPatch): PendingQuery<Row[]> {
  const parts: PendingQuery<Row[]>[] = [];
  if (p.state !== undefined) parts.push(sql`state = ${p.state},`);
  if (p.progress !== undefined) parts.push(sql`progress = ${p.progress},`);
  if (p.statusText !== undefined) parts.push(sql`status_text = ${p.statusText},`);
  if (p.result !== undefined) parts.push(sql`result = ${json(p.result)}::jsonb,`);
  if (p.error !== undefined) parts.push(sql`error = ${p.error},`);
  if (p.attemptsMade !== undefined) parts.push(sql`attempts_made = ${p.attemptsMade},`);
  return parts.reduce((all, part) => sql`${all} ${part}`, sql``);
}

/**
 * drizzle's driver makes postgres.js pass JSON parameters through untouched, so values are
 * serialised here and cast in SQL; null stays SQL NULL.
 */
function json(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}

export type IdleJob = Pick<JobRecord, 'id' | 'owner_id' | 'name' | 'data' | 'state' | 'attempts_made'>;

/**
 * Jobs Postgres still shows as live though they have not changed for a while: `waiting` or
 * `delayed` ones idle for `queuedIdleMs`, `active` ones for `activeIdleMs` (a running job
 * writes progress; a quiet one may still be running). The reconciler compares them with the
 * queue (oldest first, at most `limit`).
 */
export function listIdleLiveJobs(sql: Sql, queuedIdleMs: number, activeIdleMs: number, limit: number): Promise<IdleJob[]> {
  return sql<IdleJob[]>`
    select id, owner_id, name, data, state, attempts_made from jobs
    where (state in ('waiting', 'delayed') and updated_at < now() - make_interval(secs => ${queuedIdleMs / 1000}))
       or (state = 'active' and updated_at < now() - make_interval(secs => ${activeIdleMs / 1000}))
    order by updated_at limit ${limit}`;
}

/** The rows of these jobs (unknown ids are skipped), for re-sending their snapshots. */
export function findJobs(sql: Sql, ids: readonly string[]): Promise<JobRecord[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return sql<JobRecord[]>`select * from jobs where id in ${sql([...ids])}`;
}
