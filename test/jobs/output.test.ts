import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Sql } from '../../src/db/client.js';
import type { JobDto } from '../../src/domain/job-dto.js';
import type { OutputChunkDto } from '../../src/schemas/objects.js';
import { startApp, type RunningApp } from '../helpers/app.js';
import { api, newUser, type TestUser } from '../helpers/http.js';
import { pollUntil } from '../helpers/processes.js';
import { connectInbox, request, type ClientSocket } from '../helpers/sockets.js';
import type { ChildService } from '../helpers/processes.js';
import { workerPool } from '../helpers/worker-process.js';
import { anyJob, filePrefix, jobEvents } from './support.js';

// A short lock, so a SIGKILLed worker's job is found stalled within seconds.
const env = { REDIS_PREFIX: filePrefix('jobs-output'), JOB_LOCK_MS: '1500' };

let hub: RunningApp;
let sql: Sql;
let firstWorker: ChildService;
const workers = workerPool(env);
const open: ClientSocket[] = [];

beforeAll(async () => {
  [hub, firstWorker] = await Promise.all([startApp(env), workers.spawn()]);
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
  const { socket } = await connectInbox(hub.url, user.cookie);
  open.push(socket);
  return socket;
}

async function enqueue(user: TestUser, name: string, data: unknown): Promise<JobDto> {
  const res = await api(hub.url, 'POST', '/api/jobs', { cookie: user.cookie, body: { name, data } });
  expect(res.status).toBe(202);
  return res.body.job;
}

/** Every `job:output` a socket receives, with when it arrived. */
function outputEvents(socket: ClientSocket) {
  const events: Array<{ at: number; job_id: string; chunks: OutputChunkDto[] }> = [];
  socket.on('job:output', (payload) => events.push({ at: performance.now(), ...payload }));
  return events;
}

const stored = (jobId: string) => sql<OutputChunkDto[]>`select "offset", data from job_output where job_id = ${jobId} order by "offset"`;
const offsets = (chunks: readonly OutputChunkDto[]) => chunks.map((c) => c.offset);
const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);
const WORDS = ['lorem', 'ipsum', 'dolor', 'sit', 'amet', 'consectetur', 'adipiscing', 'elit', 'sed', 'do', 'eiusmod', 'tempor'];
const tokens = (n: number) => range(n).map((i) => `${WORDS[i % WORDS.length]} `);

describe('job output', () => {
  it('streams demo.stream as one chunk per token: stored with gapless offsets, emitted in order, at most 20 events per second', async () => {
    const ann = await newUser(hub.url);
    const socket = await inbox(ann);
    const got = jobEvents(socket);
    const out = outputEvents(socket);
    const job = await enqueue(ann, 'demo.stream', { tokens: 120, token_ms: 10 });
    const ack = await request(socket, 'job:watch', { job_id: job.job_id, output_from: 0 });
    expect(ack).toEqual({ ok: true, job: anyJob(job.job_id), output: expect.any(Array), output_has_more: false });
    const done = await got.until((j) => j.state === 'completed', 20_000);
    expect(done.result).toEqual({ tokens: 120 });

    const rows = await stored(job.job_id);
    expect(rows).toEqual(tokens(120).map((data, offset) => ({ offset, data })));
    // Each event continues the previous one; with the ack they cover the stored output exactly.
    const byOffset = new Map<number, string>((ack.output as OutputChunkDto[]).map((c) => [c.offset, c.data]));
    let last = out[0]!.chunks[0]!.offset - 1;
    for (const e of out) {
      expect(e.job_id).toBe(job.job_id);
      expect(offsets(e.chunks)).toEqual(range(e.chunks.length, last + 1));
      last = e.chunks.at(-1)!.offset;
      for (const c of e.chunks) byOffset.set(c.offset, c.data);
    }
    expect([...byOffset].sort(([a], [b]) => a - b).map(([offset, data]) => ({ offset, data }))).toEqual(rows);
    // Output is stored and emitted before the status that ends the job.
    expect(out.at(-1)!.chunks.at(-1)!.offset).toBe(119);
    // Batched: fewer events than tokens, never 21 within one second (the worker spaces them
    // 50 ms apart; 50 ms of slack for the way here).
    expect(out.length).toBeLessThan(120);
    for (let i = 20; i < out.length; i++) expect(out[i]!.at - out[i - 20]!.at).toBeGreaterThan(950);
    const [count] = await sql<{ output_count: number }[]>`select output_count from jobs where id = ${job.job_id}`;
    expect(count!.output_count).toBe(120);
  });

  it('job:watch returns stored output from output_from, 500 at most with output_has_more; nothing without output_from', async () => {
    const ann = await newUser(hub.url);
    const socket = await inbox(ann);
    const got = jobEvents(socket);
    const job = await enqueue(ann, 'demo.stream', { tokens: 1200, token_ms: 0 });
    await request(socket, 'job:watch', { job_id: job.job_id });
    await got.until((j) => j.state === 'completed', 30_000);

    const all = tokens(1200).map((data, offset) => ({ offset, data }));
    const page = (output_from?: number) => request(socket, 'job:watch', output_from === undefined ? { job_id: job.job_id } : { job_id: job.job_id, output_from });
    expect(await page()).toEqual({ ok: true, job: anyJob(job.job_id), output: [], output_has_more: false });
    expect(await page(0)).toEqual({ ok: true, job: anyJob(job.job_id), output: all.slice(0, 500), output_has_more: true });
    expect(await page(500)).toEqual({ ok: true, job: anyJob(job.job_id), output: all.slice(500, 1000), output_has_more: true });
    expect(await page(1000)).toEqual({ ok: true, job: anyJob(job.job_id), output: all.slice(1000), output_has_more: false });
    expect(await page(1200)).toEqual({ ok: true, job: anyJob(job.job_id), output: [], output_has_more: false });
    for (const bad of [-1, 1.5, '3', null]) {
      expect(await request(socket, 'job:watch', { job_id: job.job_id, output_from: bad })).toEqual({
        ok: false,
        error: { code: 'invalid_payload', message: expect.stringContaining('output_from') },
      });
    }
    // Another user cannot read it.
    const bob = await newUser(hub.url);
    expect(await request(await inbox(bob), 'job:watch', { job_id: job.job_id, output_from: 0 })).toEqual({
      ok: false,
      error: { code: 'forbidden', message: expect.any(String) },
    });
  });

  it('a watcher that reconnects with output_from = last offset + 1 misses nothing and sees nothing twice', async () => {
    const ann = await newUser(hub.url);
    const job = await enqueue(ann, 'demo.stream', { tokens: 200, token_ms: 10 });
    // The client's rule (the typed client's too): keep the chunks that continue the output,
    // each offset once; one that skips ahead (it can overtake the ack of a watch) means watch again.
    const kept: OutputChunkDto[] = [];
    const next = () => (kept.at(-1)?.offset ?? -1) + 1;
    const keep = (chunks: readonly OutputChunkDto[]) => {
      for (const c of chunks) {
        if (c.offset < next()) continue;
        if (c.offset > next()) return false;
        kept.push(c);
      }
      return true;
    };
    let ended = false;
    for (let round = 0; !ended && round < 40; round++) {
      const socket = await inbox(ann);
      const rewatch = async () => {
        const ack = await request(socket, 'job:watch', { job_id: job.job_id, output_from: next() });
        expect(ack.ok).toBe(true);
        keep(ack.output);
        return ack;
      };
      socket.on('job:output', ({ chunks }) => {
        // A re-watch still in flight when this round closes its socket is dropped; the next round watches again.
        if (!keep(chunks)) void rewatch().catch(() => {});
      });
      const got = jobEvents(socket);
      const ack = await rewatch();
      ended = ack.job.state === 'completed' || (await got.until((j) => j.state === 'completed', 300).then(() => true, () => false));
      socket.close();
    }
    expect(ended).toBe(true);
    expect(kept).toEqual(tokens(200).map((data, offset) => ({ offset, data })));
  });

  it('a job run again after its worker was SIGKILLed continues the offsets after a line naming the attempt', async () => {
    const second = await workers.spawn();
    const ann = await newUser(hub.url);
    const socket = await inbox(ann);
    const got = jobEvents(socket);
    // Any worker may take it; the one running it is killed once it has written some output.
    const job = await enqueue(ann, 'demo.stream', { tokens: 40, token_ms: 50 });
    await request(socket, 'job:watch', { job_id: job.job_id });
    await pollUntil(async () => (await stored(job.job_id)).length >= 10, 'some output stored', 15_000);
    // Both workers die, so the one holding the job surely did; a fresh one picks it up.
    for (const w of [firstWorker, second]) w.child.kill('SIGKILL');
    await Promise.all([firstWorker.exited, second.exited]);
    await workers.spawn();
    await got.until((j) => j.state === 'completed', 30_000);

    const rows = await stored(job.job_id);
    expect(offsets(rows)).toEqual(range(rows.length));
    const marker = rows.findIndex((r) => r.data.startsWith('--- attempt'));
    expect(marker).toBeGreaterThanOrEqual(10);
    expect(rows[marker]!.data).toMatch(/^--- attempt \d+( \(the previous worker was lost\))? ---\n$/);
    // Before the marker: the first run's tokens; after it: the whole stream again.
    expect(rows.slice(0, marker).map((r) => r.data)).toEqual(tokens(marker));
    expect(rows.slice(marker + 1).map((r) => r.data)).toEqual(tokens(40));
  }, 90_000);

  it('demo.steps writes one line per step; output is removed with its job', async () => {
    const ann = await newUser(hub.url);
    const socket = await inbox(ann);
    const got = jobEvents(socket);
    const job = await enqueue(ann, 'demo.steps', { steps: 3, step_ms: 10 });
    await request(socket, 'job:watch', { job_id: job.job_id });
    await got.until((j) => j.state === 'completed', 15_000);
    expect(await stored(job.job_id)).toEqual([
      { offset: 0, data: 'step 1/3 done\n' },
      { offset: 1, data: 'step 2/3 done\n' },
      { offset: 2, data: 'step 3/3 done\n' },
    ]);
    await sql`delete from jobs where id = ${job.job_id}`;
    expect(await stored(job.job_id)).toEqual([]);
  });
});
