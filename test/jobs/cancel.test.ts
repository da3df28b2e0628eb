import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JobDto } from '../../src/domain/job-dto.js';
import { startApp, type RunningApp } from '../helpers/app.js';
import { api, newUser, type TestUser } from '../helpers/http.js';
import type { ChildService } from '../helpers/processes.js';
import { connectInbox, type ClientSocket } from '../helpers/sockets.js';
import { spawnWorker } from '../helpers/worker-process.js';
import { filePrefix, jobEvents, jobShape, settle, watch } from './support.js';

const env = { REDIS_PREFIX: filePrefix('jobs-cancel') };

let hub: RunningApp;
let worker: ChildService | undefined;
const open: ClientSocket[] = [];

beforeAll(async () => {
  hub = await startApp(env);
});
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});
afterAll(async () => {
  await worker?.stop();
  await hub?.close();
});

async function inbox(user: TestUser) {
  const { socket } = await connectInbox(hub.url, user.cookie);
  open.push(socket);
  return socket;
}

async function enqueue(user: TestUser, data: unknown): Promise<JobDto> {
  const res = await api(hub.url, 'POST', '/api/jobs', { cookie: user.cookie, body: { name: 'demo.steps', data } });
  expect(res.status).toBe(202);
  return res.body.job;
}

const cancel = (user: TestUser, jobId: string) => api(hub.url, 'POST', `/api/jobs/${jobId}/cancel`, { cookie: user.cookie });

/**
 * Runs a short job to completion: once it is done, a worker has passed every job that was due
 * before it (the `delay` makes it due after delayed ones too).
 */
async function runSentinel(user: TestUser, socket: ClientSocket, delay?: number) {
  const got = jobEvents(socket);
  const job = await hub.app.services.jobs.enqueue({ name: 'demo.steps', data: { steps: 1, step_ms: 0 }, ownerId: user.user.id, delay });
  return settle(await watch(socket, job.job_id), got, (j) => j.state === 'completed');
}

// Ordered: the first tests run with no worker at all, so their jobs stay waiting.
describe('cancel', () => {
  const queued: { user: TestUser; job: JobDto }[] = [];

  it('removes a waiting job: the watcher sees cancelled at once, and no worker ever runs it', async () => {
    const ann = await newUser(hub.url);
    const socket = await inbox(ann);
    const got = jobEvents(socket);
    const job = await enqueue(ann, { steps: 1, step_ms: 0 });
    expect(await watch(socket, job.job_id)).toEqual(job);

    const res = await cancel(ann, job.job_id);
    const cancelled = jobShape({ job_id: job.job_id, state: 'cancelled', status_text: 'cancelled', seq: 2, created_at: job.created_at });
    expect(res).toMatchObject({ status: 202, body: { job: cancelled } });
    expect(await got.until((j) => j.state === 'cancelled')).toEqual(res.body.job);
    expect(await hub.app.jobsQueue.getJobState(job.job_id)).toBe('unknown');
    queued.push({ user: ann, job: res.body.job });
  });

  it('removes a delayed job the same way, and answers a second cancel with the same job', async () => {
    const ann = await newUser(hub.url);
    const job = await hub.app.services.jobs.enqueue({ name: 'demo.steps', data: { steps: 1, step_ms: 0 }, ownerId: ann.user.id, delay: 500 });
    const first = await cancel(ann, job.job_id);
    expect(first).toMatchObject({ status: 202, body: { job: jobShape({ job_id: job.job_id, state: 'cancelled', status_text: 'cancelled', seq: 2 }) } });
    expect(await cancel(ann, job.job_id)).toMatchObject({ status: 202, body: first.body });
    queued.push({ user: ann, job: first.body.job });
  });

  it('never runs the cancelled jobs once a worker starts', async () => {
    worker = await spawnWorker(env);
    const ann = await newUser(hub.url);
    // Due after the cancelled delayed job (500 ms) would have been.
    await runSentinel(ann, await inbox(ann), 700);
    for (const { user, job } of queued) {
      expect((await api(hub.url, 'GET', `/api/jobs/${job.job_id}`, { cookie: user.cookie })).body).toEqual({ job });
    }
  });

  it('aborts an active job through its signal: cancelled, not retried, and the worker moves on', async () => {
    const ann = await newUser(hub.url);
    const socket = await inbox(ann);
    const got = jobEvents(socket);
    const job = await enqueue(ann, { steps: 100, step_ms: 100 });
    await watch(socket, job.job_id);
    const running = await got.until((j) => j.progress >= 2);

    const res = await cancel(ann, job.job_id);
    expect(res.status).toBe(202);
    expect(res.body.job).toMatchObject({ job_id: job.job_id, state: 'active' });
    const cancelled = await got.until((j) => j.state === 'cancelled');
    expect(cancelled).toEqual(
      jobShape({ job_id: job.job_id, state: 'cancelled', status_text: 'cancelled', progress: expect.any(Number), attempts_made: 1, seq: expect.any(Number), created_at: job.created_at }),
    );
    expect(cancelled.progress).toBeGreaterThanOrEqual(running.progress);
    expect(cancelled.progress).toBeLessThan(100);

    await runSentinel(ann, socket);
    expect(got.events.filter((j) => j.job_id === job.job_id).at(-1)).toEqual(cancelled);
    expect(await hub.app.jobsQueue.getJobState(job.job_id)).toBe('failed');
    expect((await api(hub.url, 'GET', `/api/jobs/${job.job_id}`, { cookie: ann.cookie })).body).toEqual({ job: cancelled });
  });

  it('refuses to cancel a finished job with 409', async () => {
    const ann = await newUser(hub.url);
    const done = await runSentinel(ann, await inbox(ann));
    expect(await cancel(ann, done.job_id)).toMatchObject({
      status: 409,
      body: { error: { code: 'conflict', message: 'Job has already completed' } },
    });
  });
});
