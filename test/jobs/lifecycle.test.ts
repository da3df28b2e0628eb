import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { insertJob } from '../../src/db/repositories/jobs.js';
import type { JobDto } from '../../src/domain/job-dto.js';
import { startApp, type RunningApp } from '../helpers/app.js';
import { testEnv } from '../helpers/config.js';
import { api, newConversation, newUser, type TestUser } from '../helpers/http.js';
import type { ChildService } from '../helpers/processes.js';
import { connectInbox, request, type ClientSocket } from '../helpers/sockets.js';
import { spawnWorker } from '../helpers/worker-process.js';
import { brief, filePrefix, jobEvents, jobShape, settle, timeline, watch } from './support.js';

const exportDir = mkdtempSync(join(tmpdir(), 'inbox-exports-'));
const env = { REDIS_PREFIX: filePrefix('jobs-life'), EXPORT_DIR: exportDir, MESSAGE_RATE_LIMIT: '1000' };

let hub: RunningApp;
let worker: ChildService;
const open: ClientSocket[] = [];

beforeAll(async () => {
  [hub, worker] = await Promise.all([startApp(env), spawnWorker(env)]);
});
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});
afterAll(async () => {
  await worker?.stop();
  await hub?.close();
  rmSync(exportDir, { recursive: true, force: true });
});

async function inbox(user: TestUser) {
  const { socket } = await connectInbox(hub.url, user.cookie);
  open.push(socket);
  return socket;
}

async function enqueue(user: TestUser, name: string, data: unknown): Promise<JobDto> {
  const res = await api(hub.url, 'POST', '/api/jobs', { cookie: user.cookie, body: { name, data } });
  expect(res.status).toBe(202);
  return res.body.job;
}

const ERROR = 'demo.steps failed at step 2';

describe('a watched job', () => {
  it('is stored at 202, then seen live: snapshot, ordered progress, completed with its result', async () => {
    const ann = await newUser(hub.url);
    const socket = await inbox(ann);
    const got = jobEvents(socket);
    const res = await api(hub.url, 'POST', '/api/jobs', { cookie: ann.cookie, body: { name: 'demo.steps', data: { steps: 4, step_ms: 250 } } });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ job: jobShape() });
    const id = res.body.job.job_id as string;

    const snapshot = await watch(socket, id);
    const done = await got.until((j) => j.state === 'completed');

    expect(done).toEqual(
      jobShape({ job_id: id, state: 'completed', progress: 100, status_text: 'completed', result: { steps: 4 }, attempts_made: 1, seq: 7, created_at: res.body.job.created_at }),
    );
    const life = [
      [1, 'waiting', 0, null, 0, null],
      [2, 'active', 0, 'started', 0, null],
      [3, 'active', 25, 'step 1/4', 0, null],
      [4, 'active', 50, 'step 2/4', 0, null],
      [5, 'active', 75, 'step 3/4', 0, null],
      [6, 'active', 100, 'step 4/4', 0, null],
      [7, 'completed', 100, 'completed', 1, null],
    ];
    expect(snapshot.seq).toBeLessThan(7);
    expect(timeline(snapshot, got.events).map(brief)).toEqual(life.slice(snapshot.seq - 1));
    expect((await api(hub.url, 'GET', `/api/jobs/${id}`, { cookie: ann.cookie })).body).toEqual({ job: done });
  });

  it('shows every failed attempt and its retry, then the final failure', async () => {
    const ann = await newUser(hub.url);
    const socket = await inbox(ann);
    const got = jobEvents(socket);
    const job = await enqueue(ann, 'demo.steps', { steps: 3, step_ms: 100, fail_at_step: 2 });
    const snapshot = await watch(socket, job.job_id);
    const failed = await got.until((j) => j.state === 'failed' && j.status_text === 'failed');

    expect(failed).toEqual(
      jobShape({ job_id: job.job_id, state: 'failed', progress: 33, status_text: 'failed', error: ERROR, attempts_made: 3, seq: 12 }),
    );
    const life = [
      [1, 'waiting', 0, null, 0, null],
      [2, 'active', 0, 'started', 0, null],
      [3, 'active', 33, 'step 1/3', 0, null],
      [4, 'failed', 33, 'attempt 1 failed', 1, ERROR],
      [5, 'delayed', 33, 'retrying in 250 ms', 1, ERROR],
      [6, 'active', 0, 'attempt 2 started', 1, ERROR],
      [7, 'active', 33, 'step 1/3', 1, ERROR],
      [8, 'failed', 33, 'attempt 2 failed', 2, ERROR],
      [9, 'delayed', 33, 'retrying in 250 ms', 2, ERROR],
      [10, 'active', 0, 'attempt 3 started', 2, ERROR],
      [11, 'active', 33, 'step 1/3', 2, ERROR],
      [12, 'failed', 33, 'failed', 3, ERROR],
    ];
    expect(snapshot.seq).toBeLessThan(8);
    expect(timeline(snapshot, got.events).map(brief)).toEqual(life.slice(snapshot.seq - 1));
  });

  it('gives a watch that starts after the job finished the final snapshot', async () => {
    const ann = await newUser(hub.url);
    const first = await inbox(ann);
    const got = jobEvents(first);
    const job = await enqueue(ann, 'demo.steps', { steps: 1, step_ms: 0 });
    const done = await settle(await watch(first, job.job_id), got, (j) => j.state === 'completed');

    const late = await inbox(ann);
    expect(await request(late, 'job:watch', { job_id: job.job_id })).toEqual({ ok: true, job: done, output: [], output_has_more: false });
  });

  it('stops reaching a socket once it unwatches', async () => {
    const ann = await newUser(hub.url);
    const [leaving, staying] = await Promise.all([inbox(ann), inbox(ann)]);
    const left = jobEvents(leaving);
    const stays = jobEvents(staying);
    const job = await enqueue(ann, 'demo.steps', { steps: 5, step_ms: 100 });
    await Promise.all([watch(leaving, job.job_id), watch(staying, job.job_id)]);
    await left.until((j) => j.progress > 0);
    expect(await request(leaving, 'job:unwatch', { job_id: job.job_id })).toEqual({ ok: true });
    const seenBeforeUnwatch = left.events.length;
    await stays.until((j) => j.state === 'completed');
    expect(left.events.length).toBe(seenBeforeUnwatch);
    expect(left.events.some((j) => j.state === 'completed')).toBe(false);
  });
});

describe('access', () => {
  it('lets only the owner see, cancel or watch a job', async () => {
    const [ann, eve] = await Promise.all([newUser(hub.url), newUser(hub.url)]);
    const job = await enqueue(ann, 'demo.steps', { steps: 1, step_ms: 0 });
    const notFound = { error: { code: 'not_found', message: 'Job not found' } };

    expect(await api(hub.url, 'GET', `/api/jobs/${job.job_id}`, { cookie: eve.cookie })).toMatchObject({ status: 404, body: notFound });
    expect(await api(hub.url, 'POST', `/api/jobs/${job.job_id}/cancel`, { cookie: eve.cookie })).toMatchObject({ status: 404, body: notFound });
    expect(await api(hub.url, 'GET', '/api/jobs', { cookie: eve.cookie })).toMatchObject({ status: 200, body: { jobs: [] } });
    expect(await api(hub.url, 'GET', `/api/jobs/${job.job_id}`)).toMatchObject({ status: 401 });

    const socket = await inbox(eve);
    expect(await request(socket, 'job:watch', { job_id: job.job_id })).toEqual({
      ok: false,
      error: { code: 'forbidden', message: 'Only the owner of a job can watch it' },
    });
    expect(await request(socket, 'job:watch', { job_id: 'no-such-job' })).toEqual({ ok: false, error: { code: 'not_found', message: 'Job not found' } });
    expect(await request(socket, 'job:watch', { job_id: 42 })).toEqual({
      ok: false,
      error: { code: 'invalid_payload', message: expect.stringMatching(/^job_id: /) },
    });
    expect(await api(hub.url, 'GET', '/api/jobs/no-such-job', { cookie: ann.cookie })).toMatchObject({ status: 404, body: notFound });
  });

  it('lists the caller\'s jobs, newest first', async () => {
    const ann = await newUser(hub.url);
    const a = await enqueue(ann, 'demo.steps', { steps: 1, step_ms: 0 });
    const b = await enqueue(ann, 'demo.steps', { steps: 1, step_ms: 0 });
    const res = await api(hub.url, 'GET', '/api/jobs', { cookie: ann.cookie });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ jobs: [expect.objectContaining({ job_id: b.job_id }), expect.objectContaining({ job_id: a.job_id })] });
    expect(Object.keys(res.body.jobs[0]).sort()).toEqual(Object.keys(jobShape()).sort());
  });
});

describe('enqueueing', () => {
  it.each([
    ['an unknown name', { name: 'nope', data: {} }, 'name: unknown job name "nope" (known: conversation.export, demo.steps, demo.stream)'],
    ['missing data', { name: 'demo.steps' }, expect.stringMatching(/^data: /)],
    ['out-of-range data', { name: 'demo.steps', data: { steps: 0, step_ms: 10 } }, expect.stringMatching(/^data\.steps: /)],
    ['a failure step past the end', { name: 'demo.steps', data: { steps: 2, step_ms: 0, fail_at_step: 3 } }, 'data.fail_at_step: must not be greater than steps'],
    ['a string for a number', { name: 'conversation.export', data: { conversation_id: '1' } }, expect.stringMatching(/^data\.conversation_id: /)],
  ])('refuses %s with 400 and enqueues nothing', async (_label, body, message) => {
    const ann = await newUser(hub.url);
    const before = await hub.app.jobsQueue.getJobCounts();
    const res = await api(hub.url, 'POST', '/api/jobs', { cookie: ann.cookie, body });
    expect(res).toMatchObject({ status: 400, body: { error: { code: 'invalid_payload', message } } });
    expect(Object.keys(res.body)).toEqual(['error']);
    expect((await api(hub.url, 'GET', '/api/jobs', { cookie: ann.cookie })).body).toEqual({ jobs: [] });
    expect(await hub.app.jobsQueue.getJobCounts()).toEqual(before);
  });

  it('from a plain script through the exported producer (examples/enqueue.ts)', async () => {
    const ann = await newUser(hub.url);
    const run = promisify(execFile);
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'examples/enqueue.ts', String(ann.user.id), '2'], {
      env: { ...process.env, ...testEnv(env) },
    });
    const job = JSON.parse(stdout) as JobDto;
    expect(job).toEqual(jobShape());
    const socket = await inbox(ann);
    const got = jobEvents(socket);
    const snapshot = await watch(socket, job.job_id);
    expect(await settle(snapshot, got, (j) => j.state === 'completed')).toEqual(
      jobShape({ job_id: job.job_id, state: 'completed', progress: 100, status_text: 'completed', result: { steps: 2 }, attempts_made: 1, seq: 5, created_at: job.created_at }),
    );
    // A cold tsx start of the whole package is slow on a loaded machine.
  }, 60_000);

  it('refuses an owner that does not exist, and stores a delayed job as delayed', async () => {
    await expect(hub.app.services.jobs.enqueue({ name: 'demo.steps', data: { steps: 1, step_ms: 0 }, ownerId: 2_000_000_000 })).rejects.toMatchObject({
      code: 'invalid_payload',
      message: 'ownerId: no such user',
    });
    const ann = await newUser(hub.url);
    const job = await hub.app.services.jobs.enqueue({ name: 'demo.steps', data: { steps: 1, step_ms: 0 }, ownerId: ann.user.id, delay: 60_000 });
    expect(job).toEqual(jobShape({ state: 'delayed' }));
    expect(await hub.app.jobsQueue.getJobState(job.job_id)).toBe('delayed');
    await hub.app.jobsQueue.remove(job.job_id);
  });
});

describe('conversation.export', () => {
  it('writes every stored message as JSON lines, with progress; message_count equals the stored messages', async () => {
    const [ann, bob] = await Promise.all([newUser(hub.url, { name: 'Ann' }), newUser(hub.url, { name: 'Bob' })]);
    const conv = await newConversation(hub.url, ann, bob);
    const [a, b] = await Promise.all([inbox(ann), inbox(bob)]);
    for (let i = 0; i < 30; i++) {
      const ack = await request(i % 3 ? a : b, 'message', { conversation_id: conv.id, message: `message ${i}`, type: 'TEXT' });
      expect(ack.ok).toBe(true);
    }
    const got = jobEvents(b);
    const job = await enqueue(bob, 'conversation.export', { conversation_id: conv.id });
    expect(job).toEqual(jobShape({ name: 'conversation.export' }));
    const snapshot = await watch(b, job.job_id);
    const done = await settle(snapshot, got, (j) => j.state === 'completed');

    const path = join(exportDir, `conversation-${conv.id}-${job.job_id}.jsonl`);
    expect(done).toEqual(
      jobShape({ job_id: job.job_id, name: 'conversation.export', state: 'completed', progress: 100, status_text: 'completed', result: { message_count: 30, path }, attempts_made: 1, seq: 4, created_at: job.created_at }),
    );
    const life = [
      [1, 'waiting', 0, null, 0, null],
      [2, 'active', 0, 'started', 0, null],
      [3, 'active', 100, '30 messages written', 0, null],
      [4, 'completed', 100, 'completed', 1, null],
    ];
    expect(timeline(snapshot, got.events).map(brief)).toEqual(life.slice(snapshot.seq - 1));
    const stored = await api(hub.url, 'GET', `/api/conversations/${conv.id}/messages?limit=100`, { cookie: ann.cookie });
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as unknown);
    expect(lines).toEqual(stored.body.messages);
    expect(lines).toHaveLength(30);

    // The owner downloads the same file; anyone else (even the other member) gets 404.
    const download = await fetch(`${hub.url}/api/jobs/${job.job_id}/download`, { headers: { cookie: bob.cookie } });
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
    expect(download.headers.get('content-disposition')).toBe(`attachment; filename="conversation-${conv.id}-${job.job_id}.jsonl"`);
    expect(await download.text()).toBe(readFileSync(path, 'utf8'));
    const notOwner = await api(hub.url, 'GET', `/api/jobs/${job.job_id}/download`, { cookie: ann.cookie });
    expect(notOwner).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
  });

  it('is refused at enqueue unless the owner is a member (400, the same answer as for no such conversation)', async () => {
    const [ann, bob, eve] = await Promise.all([newUser(hub.url), newUser(hub.url), newUser(hub.url)]);
    const conv = await newConversation(hub.url, ann, bob);
    const refused = { error: { code: 'invalid_payload', message: 'data.conversation_id: not a conversation you are a member of' } };
    for (const conversation_id of [conv.id, 2_000_000_000]) {
      const res = await api(hub.url, 'POST', '/api/jobs', { cookie: eve.cookie, body: { name: 'conversation.export', data: { conversation_id } } });
      expect(res).toMatchObject({ status: 400, body: refused });
    }
    expect((await api(hub.url, 'GET', '/api/jobs', { cookie: eve.cookie })).body).toEqual({ jobs: [] });
  });

  it('fails at once, without retries, when the owner is not a member by the time it runs', async () => {
    const [ann, bob, eve] = await Promise.all([newUser(hub.url), newUser(hub.url), newUser(hub.url)]);
    const conv = await newConversation(hub.url, ann, bob);
    // Past the enqueue check, as if eve had left the conversation while the job waited.
    const id = randomUUID();
    const data = { conversation_id: conv.id };
    await insertJob(hub.app.dbHandle.sql, { id, ownerId: eve.user.id, name: 'conversation.export', data, state: 'waiting' });
    const socket = await inbox(eve);
    const got = jobEvents(socket);
    await watch(socket, id);
    await hub.app.jobsQueue.add('conversation.export', { owner_id: eve.user.id, data }, { jobId: id, attempts: 3 });
    expect(await got.until((j) => j.state === 'failed')).toEqual(
      jobShape({ job_id: id, name: 'conversation.export', state: 'failed', status_text: 'failed', error: 'the owner is not a member of this conversation', attempts_made: 1, seq: 3 }),
    );
  });
});

describe('job metrics', () => {
  it('/metrics counts a job\'s status changes by state', async () => {
    const scrape = async () => (await fetch(`${hub.url}/metrics`)).text();
    const count = (text: string, state: string) =>
      Number(text.split('\n').find((l) => l.startsWith('inbox_job_events_total{') && l.includes(`state="${state}"`))?.split(' ').at(-1) ?? 0);
    // Earlier tests' jobs may still have BullMQ events on their way to the hub: a job's own
    // status (what their watchers waited for) is stored before BullMQ moves it. The baseline
    // is taken once the queue is idle and two scrapes 500 ms apart agree.
    await expect
      .poll(async () => {
        const counts = await hub.app.jobsQueue.getJobCounts('active', 'waiting', 'delayed');
        return (counts.active ?? 0) + (counts.waiting ?? 0) + (counts.delayed ?? 0);
      }, { timeout: 10_000 })
      .toBe(0);
    let before = await scrape();
    await expect
      .poll(async () => {
        const previous = before;
        await new Promise((r) => setTimeout(r, 500));
        before = await scrape();
        return ['waiting', 'active', 'completed', 'failed'].every((state) => count(before, state) === count(previous, state));
      }, { timeout: 10_000 })
      .toBe(true);
    const ann = await newUser(hub.url);
    const socket = await inbox(ann);
    const got = jobEvents(socket);
    const job = await enqueue(ann, 'demo.steps', { steps: 3, step_ms: 0 });
    await settle(await watch(socket, job.job_id), got, (j) => j.state === 'completed');
    // BullMQ's event stream reaches the hub a moment after the worker's own status update.
    await expect.poll(async () => count(await scrape(), 'completed') - count(before, 'completed')).toBe(1);
    const after = await scrape();
    expect(count(after, 'active') - count(before, 'active')).toBe(1);
    expect(count(after, 'waiting') - count(before, 'waiting')).toBe(1);
    expect(count(after, 'failed') - count(before, 'failed')).toBe(0);
  });
});
