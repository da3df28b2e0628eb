import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertJob } from '../../src/db/repositories/jobs.js';
import type { JobDto } from '../../src/domain/job-dto.js';
import { LOST_JOB_ERROR, REQUEUED_TEXT } from '../../workers/reconcile.js';
import { startApp, type RunningApp } from '../helpers/app.js';
import { createIsolatedDatabase, type IsolatedDatabase } from '../helpers/database.js';
import { api, newUser } from '../helpers/http.js';
import { connectInbox, type ClientSocket } from '../helpers/sockets.js';
import { workerPool } from '../helpers/worker-process.js';
import { filePrefix, jobEvents, jobShape, settle, watch } from './support.js';

// Postgres and the queue made to disagree, as crashes leave them; a worker start puts them right.
// A database of its own: every worker reconciles at start, and one of another test file (its
// own queue prefix) would find these backdated rows missing from its queue and fail them.
let db: IsolatedDatabase;
let hub: RunningApp;
let workers: ReturnType<typeof workerPool>;
let socket: ClientSocket | undefined;
beforeAll(async () => {
  db = await createIsolatedDatabase('reconcile');
  const env = { REDIS_PREFIX: filePrefix('jobs-reconcile'), DATABASE_URL: db.url };
  workers = workerPool(env);
  hub = await startApp(env);
});
afterAll(async () => {
  socket?.close();
  await workers?.stopAll();
  await hub?.close();
  await db?.drop();
});

const postJob = async (cookie: string, steps: number) =>
  (await api(hub.url, 'POST', '/api/jobs', { cookie, body: { name: 'demo.steps', data: { steps, step_ms: 10 } } })).body.job as JobDto;

describe('job reconciliation at worker start', () => {
  it('stores a completion a crash never stored, runs again a job the queue lost, fails one that cannot run again; a job still queued just runs', async () => {
    const sql = hub.app.dbHandle.sql;
    const ann = await newUser(hub.url);
    ({ socket } = await connectInbox(hub.url, ann.cookie));
    const got = jobEvents(socket);

    const first = await workers.spawn();
    const finished = await postJob(ann.cookie, 2);
    await settle(await watch(socket, finished.job_id), got, (j) => j.state === 'completed');
    expect(await first.stop('SIGTERM')).toBe(0);

    // What a worker killed between BullMQ's completion and its own write leaves behind.
    await sql`update jobs set state = 'active', progress = 50, status_text = 'step 1 of 2', result = null where id = ${finished.job_id}`;
    // An ownership row whose producer died before enqueueing (or whose Redis lost it).
    const lost = await insertJob(sql, { id: randomUUID(), ownerId: ann.user.id, name: 'demo.steps', data: { steps: 1, step_ms: 10 }, state: 'waiting' });
    // The same, but its attempts are used up: it cannot run again.
    const spent = await insertJob(sql, { id: randomUUID(), ownerId: ann.user.id, name: 'demo.steps', data: { steps: 1, step_ms: 10 }, state: 'waiting' });
    await sql`update jobs set attempts_made = 3 where id = ${spent.id}`;
    // A job the queue still holds, waiting for a worker.
    const queued = await postJob(ann.cookie, 1);
    const ids = [finished.job_id, lost.id, spent.id, queued.job_id];
    await sql`update jobs set updated_at = now() - interval '1 hour' where id in ${sql(ids)}`;
    const before = await Promise.all(ids.map((id) => watch(socket!, id)));
    expect(before.map((j) => [j.state, j.progress])).toEqual([['active', 50], ['waiting', 0], ['waiting', 0], ['waiting', 0]]);

    const mark = got.events.length;
    await workers.spawn();
    const [repaired, rerun, failed, ran] = await Promise.all(
      before.map((snapshot) => settle(snapshot, got, (j) => j.seq > snapshot.seq && ['completed', 'failed'].includes(j.state), 20_000)),
    );
    expect(repaired).toEqual(
      jobShape({ job_id: finished.job_id, state: 'completed', progress: 100, status_text: 'completed', result: { steps: 2 }, attempts_made: 1, seq: before[0]!.seq + 1, created_at: finished.created_at }),
    );
    // Requeued from its row: its watcher saw it go back to waiting, then run from the start.
    expect(rerun).toEqual(
      jobShape({ job_id: lost.id, state: 'completed', progress: 100, status_text: 'completed', result: { steps: 1 }, attempts_made: 1, seq: expect.any(Number), created_at: expect.any(String) }),
    );
    const rerunSeen = got.events.filter((j) => j.job_id === lost.id).map((j) => [j.state, j.status_text]);
    expect(rerunSeen.slice(0, 2)).toEqual([['waiting', REQUEUED_TEXT], ['active', 'started']]);
    expect(failed).toEqual(
      jobShape({ job_id: spent.id, state: 'failed', status_text: 'failed', error: LOST_JOB_ERROR, attempts_made: 3, seq: 2, created_at: expect.any(String) }),
    );
    expect(ran).toEqual(
      jobShape({ job_id: queued.job_id, state: 'completed', progress: 100, status_text: 'completed', result: { steps: 1 }, attempts_made: 1, seq: expect.any(Number), created_at: queued.created_at }),
    );
    // Each reached its end once: no second verdict from the reconciler racing the normal path.
    await new Promise((r) => setTimeout(r, 300)); // room for a duplicate to show up
    const ends = got.events.slice(mark).filter((j) => ['completed', 'failed'].includes(j.state));
    expect(ends.map((j) => j.job_id).sort()).toEqual([...ids].sort());
  }, 60_000);
});
