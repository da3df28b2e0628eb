import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { InboxClient } from '@inbox-hub/client';
import type { JobDto } from '../../src/realtime/protocol.js';
import { startApp, type RunningApp } from '../helpers/app.js';
import { api, newUser, type TestUser } from '../helpers/http.js';
import type { ChildService } from '../helpers/processes.js';
import { spawnWorker } from '../helpers/worker-process.js';
import { filePrefix } from '../jobs/support.js';
import { clientFor, statusReached } from './client-helpers.js';

const exportDir = mkdtempSync(join(tmpdir(), 'inbox-client-exports-'));
const env = { REDIS_PREFIX: filePrefix('client-jobs'), EXPORT_DIR: exportDir };

let hub: RunningApp;
let worker: ChildService;
const open: InboxClient[] = [];

beforeAll(async () => {
  [hub, worker] = await Promise.all([startApp(env), spawnWorker(env)]);
});
afterEach(() => {
  for (const c of open.splice(0)) c.close();
});
afterAll(async () => {
  await worker?.stop();
  await hub?.close();
  rmSync(exportDir, { recursive: true, force: true });
});

async function enqueue(user: TestUser, data: unknown): Promise<JobDto> {
  const res = await api(hub.url, 'POST', '/api/jobs', { cookie: user.cookie, body: { name: 'demo.steps', data } });
  expect(res.status).toBe(202);
  return res.body.job;
}

/** Every state a watch hands on, and a promise for the first that ends the job. */
function follow() {
  const seen: JobDto[] = [];
  let finish!: (job: JobDto) => void;
  const finished = new Promise<JobDto>((resolve) => (finish = resolve));
  const onStatus = (job: JobDto) => {
    seen.push(job);
    if (['completed', 'failed', 'cancelled'].includes(job.state)) finish(job);
  };
  return { seen, onStatus, finished };
}

const strictlyIncreasing = (xs: number[]) => xs.every((x, i) => i === 0 || x > xs[i - 1]!);

describe('watchJob against a real hub and worker', () => {
  it('follows a demo.steps job to completed, each seq once and in order', async () => {
    const ann = await newUser(hub.url);
    const client = clientFor(hub.url, ann);
    open.push(client);
    const job = await enqueue(ann, { steps: 5, step_ms: 50 });
    const f = follow();
    const watch = await client.watchJob(job.job_id, f.onStatus);
    expect(watch.job.job_id).toBe(job.job_id);
    const done = await f.finished;
    expect(done).toMatchObject({ state: 'completed', progress: 100 });
    expect(strictlyIncreasing(f.seen.map((j) => j.seq))).toBe(true);
    expect(strictlyIncreasing(f.seen.map((j) => j.progress).filter((p, i, all) => p !== all[i - 1]))).toBe(true);
  });

  it('watches again after the connection drops and still reaches the end', async () => {
    const ann = await newUser(hub.url);
    const client = clientFor(hub.url, ann);
    open.push(client);
    const job = await enqueue(ann, { steps: 8, step_ms: 150 });
    const f = follow();
    const watches: unknown[] = [];
    client.socket.onAnyOutgoing((event: string, payload: unknown) => event === 'job:watch' && watches.push(payload));
    await client.watchJob(job.job_id, f.onStatus);
    for (const socket of hub.app.io.of('/inbox').sockets.values()) {
      if (socket.data.user.id === ann.user.id) socket.conn.close();
    }
    await statusReached(client, 'reconnecting');
    const done = await f.finished;
    expect(done.state).toBe('completed');
    // Output is asked for from its start, then from the chunk after the last one handed on.
    expect(watches[0]).toEqual({ job_id: job.job_id, output_from: 0 });
    const again = watches.slice(1) as Array<{ job_id: string; output_from: number }>;
    expect(again.length).toBeGreaterThanOrEqual(1);
    expect(again.every((w) => w.job_id === job.job_id)).toBe(true);
    expect(again.map((w) => w.output_from)).toEqual([...again.map((w) => w.output_from)].sort((a, b) => a - b));
    expect(strictlyIncreasing(f.seen.map((j) => j.seq))).toBe(true);
  });
});
