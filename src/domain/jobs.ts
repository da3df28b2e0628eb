import type { Config } from '../config.js';
import type { Sql } from '../db/client.js';
import * as jobsRepo from '../db/repositories/jobs.js';
import type { JobRow } from '../db/rows.js';
import { conflict, forbidden, notFound } from '../errors.js';
import { requestAbort } from '../queue/cancel.js';
import type { JobsQueue } from '../queue/queue.js';
import { jobChanges, type JobStatusStore } from '../queue/status.js';
import type { RedisClient } from '../redis.js';
import type { JobDto } from './job-dto.js';

/** What the hub's job operations need; built once by the queues plugin. */
export interface JobDeps {
  sql: Sql;
  queue: JobsQueue;
  redis: RedisClient;
  config: Pick<Config, 'REDIS_PREFIX'>;
  status: JobStatusStore;
}

export function toJobDto(r: JobRow): JobDto {
  return {
    job_id: r.id,
    name: r.name,
    state: r.state,
    progress: r.progress,
    status_text: r.status_text,
    result: r.result ?? null,
    error: r.error,
    attempts_made: r.attempts_made,
    created_at: r.created_at.toISOString(),
    updated_at: r.updated_at.toISOString(),
    seq: r.seq,
  };
}

/** Over HTTP another user's job answers 404 like an unknown one: its existence is not revealed. */
export async function getOwnJob(sql: Sql, ownerId: number, jobId: string): Promise<JobDto> {
  return toJobDto(await ownRecord(sql, ownerId, jobId));
}

export async function listOwnJobs(sql: Sql, ownerId: number, limit: number): Promise<JobDto[]> {
  return (await jobsRepo.listJobsOfOwner(sql, ownerId, limit)).map(toJobDto);
}

/** The socket contract distinguishes them: `forbidden` for another user's job, `not_found` for none. */
export async function assertWatchable(sql: Sql, userId: number, jobId: string): Promise<void> {
  const row = await jobsRepo.findJob(sql, jobId);
  if (!row) throw notFound('Job');
  if (row.owner_id !== userId) throw forbidden('Only the owner of a job can watch it');
}

/**
 * Cancels a job. A waiting or delayed job is removed from the queue, so it never runs, and is
 * stored as `cancelled` here. An active one cannot be removed (its worker holds the lock): its
 * worker is asked to abort it, and that worker stores `cancelled`; the reply is the snapshot of the moment.
 */
export async function cancelJob(deps: JobDeps, ownerId: number, jobId: string): Promise<JobDto> {
  const row = await ownRecord(deps.sql, ownerId, jobId);
  if (row.state === 'cancelled') return toJobDto(row);
  if (row.state === 'completed') throw conflict('Job has already completed');
  const queued = await deps.queue.getJobState(jobId);
  if (queued === 'completed' || queued === 'failed') throw conflict(`Job has already ${queued}`);
  // Gone from Redis: finished and trimmed by retention, or lost with Redis' data; either way it cannot run.
  if (queued === 'unknown') {
    if (row.state === 'failed') throw conflict('Job has already failed');
    return markCancelled(deps, row);
  }
  // remove() refuses a locked (active) job, which settles the race with a worker fetching it now.
  if ((await deps.queue.remove(jobId)) === 1) return markCancelled(deps, row);
  await requestAbort(deps.redis, deps.config, jobId);
  return toJobDto((await jobsRepo.findJob(deps.sql, jobId)) ?? row);
}

async function markCancelled(deps: JobDeps, row: JobRow): Promise<JobDto> {
  const stored = await deps.status.apply(row.id, jobChanges.cancelled());
  if (stored) return stored;
  const now = (await jobsRepo.findJob(deps.sql, row.id)) ?? row;
  if (now.state !== 'cancelled') throw conflict(`Job has already ${now.state}`);
  return toJobDto(now);
}

async function ownRecord(sql: Sql, ownerId: number, jobId: string): Promise<JobRow> {
  const row = await jobsRepo.findJob(sql, jobId);
  if (!row || row.owner_id !== ownerId) throw notFound('Job');
  return row;
}
