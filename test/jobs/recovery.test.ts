import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JobDto } from '../../src/domain/job-dto.js';
import { startApp, type RunningApp } from '../helpers/app.js';
import { api, newUser, type TestUser } from '../helpers/http.js';
import { connectInbox, type ClientSocket } from '../helpers/sockets.js';
import { workerPool } from '../helpers/worker-process.js';
import { filePrefix, jobEvents, jobShape, timeline, watch } from './support.js';

// A short lock, so a dead worker's job is found stalled within seconds instead of a minute.
const env = { REDIS_PREFIX: filePrefix('jobs-recovery'), JOB_LOCK_MS: '1500' };

let hub: RunningApp;
const workers = workerPool(env);
const open: ClientSocket[] = [];

beforeAll(async () => {
  hub = await startApp(env);
});
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});
afterAll(async () => {
  await workers.stopAll();
  await hub?.close();
});

async function watchNewJob(user: TestUser, data: unknown) {
  const { socket } = await connectInbox(hub.url, user.cookie);
  open.push(socket);
  const got = jobEvents(socket);
  const res = await api(hub.url, 'POST', '/api/jobs', { cookie: user.cookie, body: { name: 'demo.steps', data } });
  const job = res.body.job as JobDto;
  const snapshot = await watch(socket, job.job_id);
  return { job, snapshot, got };
}

describe('worker processes', () => {
  it('recover a SIGKILLed worker\'s job: it runs again on another worker and completes', async () => {
    const first = await workers.spawn();
    const ann = await newUser(hub.url);
    const { job, snapshot, got } = await watchNewJob(ann, { steps: 20, step_ms: 100 });
    // Started now to save time; the job is already locked by the first worker.
    const second = workers.spawn();
    await got.until((j) => j.progress >= 15);
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');

    await second;
    const done = await got.until((j) => j.state === 'completed', 20_000);
    expect(done).toEqual(
      jobShape({ job_id: job.job_id, state: 'completed', progress: 100, status_text: 'completed', result: { steps: 20 }, attempts_made: 1, seq: expect.any(Number), created_at: job.created_at }),
    );
    const seen = timeline(snapshot, got.events);
    const restart = seen.findIndex((j) => j.status_text === 'restarted: the previous worker was lost');
    expect(restart).toBeGreaterThan(0);
    expect(seen[restart]).toMatchObject({ state: 'active', progress: 0, attempts_made: 0 });
    expect(seen.slice(0, restart).some((j) => j.progress >= 15)).toBe(true);
    expect(seen.slice(restart).map((j) => j.progress)).toEqual([0, ...Array.from({ length: 20 }, (_, i) => (i + 1) * 5), 100]);
    const seqs = seen.map((j) => j.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
  }, 60_000);

  it('finish the running job on SIGTERM, then exit 0', async () => {
    const w = workers.latest() ?? (await workers.spawn());
    const ann = await newUser(hub.url);
    const { job, got } = await watchNewJob(ann, { steps: 10, step_ms: 100 });
    await got.until((j) => j.state === 'active');
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    expect((await api(hub.url, 'GET', `/api/jobs/${job.job_id}`, { cookie: ann.cookie })).body).toEqual({
      job: jobShape({ job_id: job.job_id, state: 'completed', progress: 100, status_text: 'completed', result: { steps: 10 }, attempts_made: 1, seq: 13, created_at: job.created_at }),
    });
  }, 30_000);
});
