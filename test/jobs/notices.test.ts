import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Sql } from '../../src/db/client.js';
import type { JobDto } from '../../src/domain/job-dto.js';
import { jobChanges, JobStatusStore } from '../../src/domain/job-status.js';
import { JobWatchers } from '../../src/domain/job-watchers.js';
import type { NoticeDto } from '../../src/schemas/objects.js';
import { startApp, type RunningApp } from '../helpers/app.js';
import { testConfig } from '../helpers/config.js';
import { api, newUser, type TestUser } from '../helpers/http.js';
import { connectInbox, request, type ClientSocket } from '../helpers/sockets.js';
import { workerPool } from '../helpers/worker-process.js';
import { filePrefix, jobEvents, watch } from './support.js';

const env = { REDIS_PREFIX: filePrefix('jobs-notices') };

let hub: RunningApp;
let sql: Sql;
const workers = workerPool(env);
const open: ClientSocket[] = [];

beforeAll(async () => {
  [hub] = await Promise.all([startApp(env), workers.spawn()]);
  sql = hub.app.dbHandle.sql;
});
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});
afterAll(async () => {
  await workers.stopAll();
  await hub?.close();
});

async function inbox(user: TestUser) {
  const { socket, ready } = await connectInbox(hub.url, user.cookie);
  open.push(socket);
  return { socket, ready };
}

function notices(socket: ClientSocket) {
  const got: NoticeDto[] = [];
  socket.on('notice:new', ({ notice }) => got.push(notice));
  return got;
}

async function enqueue(user: TestUser, name: string, data: unknown): Promise<JobDto> {
  const res = await api(hub.url, 'POST', '/api/jobs', { cookie: user.cookie, body: { name, data } });
  expect(res.status).toBe(202);
  return res.body.job;
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const noticeShape = (over: Partial<NoticeDto>) => ({ id: expect.any(Number), created_at: expect.stringMatching(ISO), read_at: null, ...over });
const list = (user: TestUser, query = '') => api(hub.url, 'GET', `/api/notices${query}`, { cookie: user.cookie });
const stateOf = async (jobId: string) => (await sql<{ state: string }[]>`select state from jobs where id = ${jobId}`)[0]!.state;
const noticeRows = (jobId: string) => sql`select kind from notices where job_id = ${jobId}`;

async function waitForState(jobId: string, state: string, timeoutMs = 15_000) {
  const until = Date.now() + timeoutMs;
  while ((await stateOf(jobId)) !== state) {
    if (Date.now() > until) throw new Error(`job ${jobId} did not reach ${state}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('notices', () => {
  it('a job that ends unwatched brings one notice, live to the owner\'s sockets, listed, counted in ready, then read', async () => {
    const ann = await newUser(hub.url);
    const bob = await newUser(hub.url);
    const { socket, ready } = await inbox(ann);
    expect(ready.unread_notices).toBe(0);
    const live = notices(socket);
    const bobLive = notices((await inbox(bob)).socket);
    const job = await enqueue(ann, 'demo.steps', { steps: 2, step_ms: 10 });
    await waitForState(job.job_id, 'completed');
    const expected = noticeShape({ kind: 'job.completed', job_id: job.job_id, title: 'Demo steps finished' });
    await expect.poll(() => live, { timeout: 5000 }).toEqual([expected]);

    const res = await list(ann);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ notices: [live[0]], has_more: false });
    expect((await list(bob)).body).toEqual({ notices: [], has_more: false });
    expect(bobLive).toEqual([]);
    expect((await inbox(ann)).ready.unread_notices).toBe(1);

    // Another user's read does not touch it; the owner's does.
    expect((await api(hub.url, 'POST', '/api/notices/read', { cookie: bob.cookie, body: { up_to_id: live[0]!.id } })).status).toBe(204);
    expect((await list(ann)).body.notices[0].read_at).toBeNull();
    expect((await api(hub.url, 'POST', '/api/notices/read', { cookie: ann.cookie, body: { up_to_id: live[0]!.id } })).status).toBe(204);
    const read = (await list(ann)).body.notices[0];
    expect(read).toEqual({ ...live[0], read_at: expect.stringMatching(ISO) });
    expect((await inbox(ann)).ready.unread_notices).toBe(0);
    expect(await noticeRows(job.job_id)).toHaveLength(1);
  });

  it('no notice while one of the owner\'s sockets watches the job; one after it unwatched', async () => {
    const ann = await newUser(hub.url);
    const { socket } = await inbox(ann);
    const live = notices(socket);
    const got = jobEvents(socket);
    const watched = await enqueue(ann, 'demo.steps', { steps: 2, step_ms: 50 });
    await watch(socket, watched.job_id);
    await got.until((j) => j.job_id === watched.job_id && j.state === 'completed');

    const unwatched = await enqueue(ann, 'demo.steps', { steps: 3, step_ms: 100 });
    await watch(socket, unwatched.job_id);
    expect(await request(socket, 'job:unwatch', { job_id: unwatched.job_id })).toEqual({ ok: true });
    await waitForState(unwatched.job_id, 'completed');
    await expect.poll(() => live.map((n) => n.job_id), { timeout: 5000 }).toEqual([unwatched.job_id]);
    expect(await noticeRows(watched.job_id)).toHaveLength(0);
    expect((await list(ann)).body.notices.map((n: NoticeDto) => n.job_id)).toEqual([unwatched.job_id]);
  });

  it('a watcher that disconnected no longer counts', async () => {
    const ann = await newUser(hub.url);
    const { socket } = await inbox(ann);
    const job = await enqueue(ann, 'demo.steps', { steps: 3, step_ms: 150 });
    await watch(socket, job.job_id);
    socket.close();
    await waitForState(job.job_id, 'completed');
    await expect.poll(async () => (await list(ann)).body.notices.map((n: NoticeDto) => n.kind), { timeout: 5000 }).toEqual(['job.completed']);
  });

  it('a failure brings one job.failed notice after the last attempt only; a cancel stored by the hub one job.cancelled', async () => {
    const ann = await newUser(hub.url);
    const { socket } = await inbox(ann);
    const live = notices(socket);
    const failing = await enqueue(ann, 'demo.steps', { steps: 2, step_ms: 0, fail_at_step: 1 });
    await waitForState(failing.job_id, 'failed');
    await expect.poll(async () => (await sql`select attempts_made from jobs where id = ${failing.job_id}`)[0]!.attempts_made, { timeout: 10_000 }).toBe(3);
    await expect.poll(() => live, { timeout: 5000 }).toEqual([noticeShape({ kind: 'job.failed', job_id: failing.job_id, title: 'Demo steps failed' })]);

    const delayed = await hub.app.services.jobs.enqueue({ name: 'demo.steps', data: { steps: 1, step_ms: 0 }, ownerId: ann.user.id, delay: 60_000 });
    expect((await api(hub.url, 'POST', `/api/jobs/${delayed.job_id}/cancel`, { cookie: ann.cookie })).status).toBe(202);
    await expect.poll(() => live.map((n) => n.kind), { timeout: 5000 }).toContain('job.cancelled');
    expect(live.find((n) => n.kind === 'job.cancelled')).toEqual(noticeShape({ kind: 'job.cancelled', job_id: delayed.job_id, title: 'Demo steps was cancelled' }));
    expect(await noticeRows(failing.job_id)).toEqual([{ kind: 'job.failed' }]);
  });

  it('exactly one notice per job end when two workers race to store it and a reconciler reports it again', async () => {
    const ann = await newUser(hub.url);
    const { socket } = await inbox(ann);
    const live = notices(socket);
    const job = await hub.app.services.jobs.enqueue({ name: 'demo.steps', data: { steps: 1, step_ms: 0 }, ownerId: ann.user.id, delay: 3_600_000 });
    await sql`update jobs set state = 'active' where id = ${job.job_id}`;
    // Two "workers" and a reconciler, each with its own store, publishing as a worker does.
    const published: number[] = [];
    const config = testConfig(env);
    const stores = [1, 2, 3].map(
      () =>
        new JobStatusStore(
          sql,
          { jobStatus: () => {}, jobOutput: () => {}, noticeNew: (_user, n) => published.push(n.id) },
          {},
          new JobWatchers(hub.app.redis, config),
        ),
    );
    const results = await Promise.all(stores.flatMap((s) => [s.apply(job.job_id, jobChanges.completed(1, { steps: 1 })), s.apply(job.job_id, jobChanges.completed(1, { steps: 1 }))]));
    expect(results.filter(Boolean)).toHaveLength(1);
    // A crash after the end was stored: the job is reported live again and ends again.
    await sql`update jobs set state = 'active' where id = ${job.job_id}`;
    expect(await stores[2]!.apply(job.job_id, jobChanges.completed(1, { steps: 1 }))).not.toBeNull();
    expect(await noticeRows(job.job_id)).toEqual([{ kind: 'job.completed' }]);
    expect(published).toHaveLength(1);
    expect(live).toEqual([]);
  });

  it('GET /api/notices pages newest first; bad queries and bodies are 400, no session 401', async () => {
    const ann = await newUser(hub.url);
    const ids: number[] = [];
    for (const kind of ['job.completed', 'job.failed', 'job.cancelled'] as const) {
      const [row] = await sql<{ id: string }[]>`insert into notices (user_id, kind, job_id, title) values (${ann.user.id}, ${kind}, ${crypto.randomUUID()}, 'x') returning id`;
      ids.push(Number(row!.id));
    }
    const first = await list(ann, '?limit=2');
    expect(first.body.notices.map((n: NoticeDto) => n.id)).toEqual([ids[2], ids[1]]);
    expect(first.body.has_more).toBe(true);
    const rest = await list(ann, `?limit=2&before_id=${ids[1]}`);
    expect(rest.body).toEqual({ notices: [expect.objectContaining({ id: ids[0], kind: 'job.completed' })], has_more: false });
    for (const q of ['?limit=0', '?limit=101', '?before_id=abc', '?limit=1e2']) {
      const res = await list(ann, q);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_payload');
    }
    for (const body of [{}, { up_to_id: 0 }, { up_to_id: '3' }, { up_to_id: 1.5 }]) {
      const res = await api(hub.url, 'POST', '/api/notices/read', { cookie: ann.cookie, body });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_payload');
    }
    expect((await api(hub.url, 'GET', '/api/notices')).status).toBe(401);
    expect((await api(hub.url, 'POST', '/api/notices/read', { body: { up_to_id: 1 } })).status).toBe(401);
    expect((await api(hub.url, 'POST', '/api/notices/read', { cookie: ann.cookie, body: { up_to_id: ids[1] } })).status).toBe(204);
    expect((await list(ann)).body.notices.map((n: NoticeDto) => n.read_at === null)).toEqual([true, false, false]);
    expect((await inbox(ann)).ready.unread_notices).toBe(1);
  });
});
