import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { InboxClient, Notice, OutputChunk } from '@inbox-hub/client';
import type { JobDto } from '../../src/realtime/protocol.js';
import { startApp, type RunningApp } from '../helpers/app.js';
import { api, newUser, type TestUser } from '../helpers/http.js';
import type { ChildService } from '../helpers/processes.js';
import { spawnWorker } from '../helpers/worker-process.js';
import { filePrefix } from '../jobs/support.js';
import { clientFor, eventually, nextEvent, statusReached } from './client-helpers.js';

const env = { REDIS_PREFIX: filePrefix('client-output') };

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
});

async function enqueue(user: TestUser, name: string, data: unknown): Promise<JobDto> {
  const res = await api(hub.url, 'POST', '/api/jobs', { cookie: user.cookie, body: { name, data } });
  expect(res.status).toBe(202);
  return res.body.job;
}

const WORDS = ['lorem', 'ipsum', 'dolor', 'sit', 'amet', 'consectetur', 'adipiscing', 'elit', 'sed', 'do', 'eiusmod', 'tempor'];

describe('the typed client against a real hub and worker', () => {
  it('hands on a job\'s output from its first chunk, each offset once, across dropped connections', async () => {
    const ann = await newUser(hub.url);
    const client = clientFor(hub.url, ann);
    open.push(client);
    const job = await enqueue(ann, 'demo.stream', { tokens: 150, token_ms: 10 });
    const chunks: OutputChunk[] = [];
    let done = false;
    await client.watchJob(job.job_id, {
      onStatus: (j) => void (done ||= j.state === 'completed'),
      onOutput: (c) => chunks.push(...c),
    });
    for (let drop = 0; drop < 3; drop++) {
      await eventually(() => chunks.length > 20 * (drop + 1) || done).toBe(true);
      for (const socket of hub.app.io.of('/inbox').sockets.values()) {
        if (socket.data.user.id === ann.user.id) socket.conn.close();
      }
      await statusReached(client, 'reconnecting').catch(() => {});
      await statusReached(client, 'live', 10_000);
    }
    await eventually(() => done && chunks.length === 150).toBe(true);
    expect(chunks).toEqual(Array.from({ length: 150 }, (_, offset) => ({ offset, data: `${WORDS[offset % WORDS.length]} ` })));
  });

  it('raises notice:new as `notice` for a job that ended unwatched', async () => {
    const ann = await newUser(hub.url);
    const client = clientFor(hub.url, ann);
    open.push(client);
    await statusReached(client, 'live', 10_000);
    const heard = nextEvent(client, 'notice', () => true, 15_000);
    const job = await enqueue(ann, 'demo.steps', { steps: 1, step_ms: 0 });
    const [notice] = (await heard) as [Notice];
    expect(notice).toEqual({ id: expect.any(Number), kind: 'job.completed', job_id: job.job_id, title: 'Demo steps finished', created_at: expect.any(String), read_at: null });
  });
});
