import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type RunningApp } from '../helpers/app.js';
import { testEnv } from '../helpers/config.js';
import { api, newUser, type TestUser } from '../helpers/http.js';
import { pollUntil } from '../helpers/processes.js';
import { workerPool } from '../helpers/worker-process.js';
import { filePrefix } from './support.js';

// Two worker processes of 4 slots each: 8 places, of which one owner may take 2.
const env = { REDIS_PREFIX: filePrefix('fair-use'), WORKER_CONCURRENCY: '4', MAX_ACTIVE_JOBS_PER_USER: '2', MAX_QUEUED_JOBS_PER_USER: '20' };

let hub: RunningApp;
const workers = workerPool(env);
const sql = postgres(testEnv().DATABASE_URL, { max: 2, onnotice: () => {} });

beforeAll(async () => {
  [hub] = await Promise.all([startApp(env), workers.spawn(), workers.spawn()]);
});
afterAll(async () => {
  await workers.stopAll();
  await hub?.close();
  await sql.end();
});

async function enqueue(user: TestUser, data: unknown) {
  return api(hub.url, 'POST', '/api/jobs', { cookie: user.cookie, body: { name: 'demo.steps', data } });
}

const statesOf = async (ownerId: number) =>
  sql<{ id: string; state: string; created_at: Date; updated_at: Date }[]>`select id, state, created_at, updated_at from jobs where owner_id = ${ownerId}`;

describe('fair use of the workers', () => {
  it('one owner runs at most 2 at once over two workers and queues at most 20; another owner starts within a second', async () => {
    const [ann, bob] = await Promise.all([newUser(hub.url), newUser(hub.url)]);
    // Two long jobs take Ann's slots...
    for (let i = 0; i < 2; i++) expect((await enqueue(ann, { steps: 2, step_ms: 1000 })).status).toBe(202);
    await pollUntil(async () => (await statesOf(ann.user.id)).filter((j) => j.state === 'active').length === 2, 'two of Ann\'s jobs running', 10_000);

    // ...and every active job of hers is sampled from here on: never more than 2.
    let maxActive = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const [row] = await sql<{ n: number }[]>`select count(*)::int as n from jobs where owner_id = ${ann.user.id} and state = 'active'`;
        maxActive = Math.max(maxActive, row!.n);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    // 20 more wait (held back for her slots, free workers idle), the 21st is refused.
    const queued = [];
    for (let i = 0; i < 20; i++) {
      const res = await enqueue(ann, { steps: 1, step_ms: 300 });
      expect(res.status).toBe(202);
      queued.push(res.body.job.job_id as string);
    }
    const refused = await enqueue(ann, { steps: 1, step_ms: 300 });
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({ error: { code: 'rate_limited', message: expect.stringContaining('20') } });

    // Bob's job is not stuck behind Ann's 20: it starts within a second of its 202.
    const bobs = await enqueue(bob, { steps: 1, step_ms: 0 });
    expect(bobs.status).toBe(202);
    const posted = Date.now();
    await pollUntil(async () => (await statesOf(bob.user.id)).some((j) => j.state === 'active' || j.state === 'completed'), 'Bob\'s job started', 10_000, 10);
    expect(Date.now() - posted).toBeLessThan(1000);

    // Ann's 22 all finish, 2 at a time: each slot that frees promotes her oldest held job at
    // once (20 jobs of 0.3 s, 10 rounds; with only the 5 s recheck they would take ~50 s).
    const drained = Date.now();
    await pollUntil(async () => (await statesOf(ann.user.id)).every((j) => j.state === 'completed'), 'all of Ann\'s jobs completed', 30_000, 50);
    sampling = false;
    await sampler;
    expect(maxActive).toBe(2);
    expect(Date.now() - drained).toBeLessThan(15_000);
    // With a place free again she may enqueue.
    expect((await enqueue(ann, { steps: 1, step_ms: 0 })).status).toBe(202);
  }, 90_000);
});
