import { expect, inject } from 'vitest';
import type { JobDto } from '../../src/domain/job-dto.js';
import { request, type ClientSocket } from '../helpers/sockets.js';

/** A Redis prefix of this run reserved for one test file, so its queue sees only its own jobs and workers. */
export const filePrefix = (label: string) => `${inject('redisPrefix')}-${label}`;

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** The contract's job object, every key, with the defaults of a fresh job. */
export const jobShape = (over: Partial<Record<keyof JobDto, unknown>> = {}) => ({
  job_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
  name: 'demo.steps',
  state: 'waiting',
  progress: 0,
  status_text: null,
  result: null,
  error: null,
  attempts_made: 0,
  created_at: expect.stringMatching(ISO),
  updated_at: expect.stringMatching(ISO),
  seq: 1,
  ...over,
});

const nullable = (matcher: unknown) => expect.toBeOneOf([null, matcher]);

/** Any state of one job, but still exactly the contract's keys with their types. */
export const anyJob = (jobId: string) =>
  jobShape({
    job_id: jobId,
    name: expect.any(String),
    state: expect.any(String),
    progress: expect.any(Number),
    status_text: nullable(expect.any(String)),
    result: nullable(expect.anything()),
    error: nullable(expect.any(String)),
    attempts_made: expect.any(Number),
    seq: expect.any(Number),
  });

/** Every `job:status` a socket receives, with a way to wait for one (it may already have arrived). */
export function jobEvents(socket: ClientSocket) {
  const events: JobDto[] = [];
  const listeners = new Set<() => void>();
  socket.on('job:status', (job) => {
    events.push(job);
    for (const listener of listeners) listener();
  });
  const until = (predicate: (job: JobDto) => boolean, timeoutMs = 15_000) =>
    new Promise<JobDto>((resolve, reject) => {
      const check = () => {
        const hit = events.find(predicate);
        if (!hit) return;
        done();
        resolve(hit);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out waiting for job:status; got ${JSON.stringify(events.map(brief))}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      listeners.add(check);
      check();
    });
  return { events, until };
}

/** The first state matching `predicate`: the watch snapshot itself if the job got there before the watch. */
export function settle(snapshot: JobDto, got: ReturnType<typeof jobEvents>, predicate: (job: JobDto) => boolean, timeoutMs?: number) {
  if (predicate(snapshot)) return Promise.resolve(snapshot);
  return got.until((j) => j.job_id === snapshot.job_id && predicate(j), timeoutMs);
}

/** What a client keeps: the watch snapshot, then only updates with a seq it has not seen. */
export function timeline(snapshot: JobDto, events: readonly JobDto[]): JobDto[] {
  const later = events.filter((e) => e.job_id === snapshot.job_id && e.seq > snapshot.seq);
  return [snapshot, ...later];
}

/** The fields that tell the story of a job, for comparing sequences. */
export const brief = (j: JobDto) => [j.seq, j.state, j.progress, j.status_text, j.attempts_made, j.error] as const;

/** Watches a job and returns the ack's snapshot, failing loudly if the watch was refused. */
export async function watch(socket: ClientSocket, jobId: string): Promise<JobDto> {
  const ack = await request(socket, 'job:watch', { job_id: jobId });
  expect(ack).toEqual({ ok: true, job: anyJob(jobId), output: [], output_has_more: false });
  return ack.job as JobDto;
}
