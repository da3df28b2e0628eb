import { readdir, readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageDto } from '../../src/realtime/protocol.js';
import { api, newConversation, newUser, type TestUser } from '../helpers/http.js';
import type { ChildService } from '../helpers/processes.js';
import { collect, connectInbox, request, waitFor, type ClientSocket } from '../helpers/sockets.js';
import { spawnWorker } from '../helpers/worker-process.js';
import { filePrefix, jobEvents, settle, watch } from '../jobs/support.js';
import { expectAlive, spawnHubPatiently } from './fault-helpers.js';

/**
 * An hour of a small team's chat compressed into one bounded run against one real hub
 * process and one worker: CYCLES times a client connects, sends, sees its echo and leaves,
 * over LANES conversations at once, while each conversation's other member stays connected
 * and must receive every message exactly once, in order. Every JOB_EVERY-th visit also
 * starts a job, watches it and waits for `completed`, so job rooms come and go too. Memory
 * and open descriptors are read from the hub process at quiet checkpoints after forced GCs;
 * once warm they must stay flat.
 */
const CYCLES = Number(process.env.SOAK_CYCLES ?? 2000);
const LANES = Number(process.env.SOAK_LANES ?? 8);
const JOB_EVERY = 16;
const CHECKPOINTS = 4;
const MB = 1024 * 1024;

// Bounds between the first (warm) checkpoint and the last one.
const MAX_RSS_GROWTH = 30 * MB;
const MAX_HEAP_GROWTH = 3 * MB;
const MAX_FD_GROWTH = 3;

interface Pair {
  ann: TestUser;
  conversationId: number;
  received: MessageDto[];
}

interface Checkpoint {
  cycles: number;
  seconds: number;
  rss: number;
  heapUsed: number;
  fds: number;
  resources: number;
}

let hub: ChildService;
let worker: ChildService;
const pairs: Pair[] = [];
const receivers: ClientSocket[] = [];
const jobsCompleted: string[] = [];

beforeAll(async () => {
  const probe = new URL('./soak-probe.mjs', import.meta.url).href;
  const shared = { REDIS_PREFIX: filePrefix('soak') };
  [hub, worker] = await Promise.all([
    spawnHubPatiently({
      ...shared,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --expose-gc --import=${probe}`.trim(),
      MESSAGE_RATE_LIMIT: '100000',
      MAX_SOCKETS_PER_USER: '1000',
    }),
    spawnWorker(shared),
  ]);
  for (let i = 0; i < LANES; i++) {
    const [ann, bob] = await Promise.all([newUser(hub.url, { name: `Ann ${i}` }), newUser(hub.url, { name: `Bob ${i}` })]);
    const { id } = await newConversation(hub.url, ann, bob);
    const { socket } = await connectInbox(hub.url, bob.cookie);
    receivers.push(socket);
    pairs.push({ ann, conversationId: id, received: collect(socket, 'message') });
  }
}, 90_000);

afterAll(async () => {
  for (const s of receivers) s.close();
  await Promise.all([hub?.stop('SIGKILL'), worker?.stop('SIGKILL')]);
});

/** Starts a short demo job, watches it from this visit's socket and waits until it completed. */
async function runJob(socket: ClientSocket, pair: Pair, n: number): Promise<void> {
  const got = jobEvents(socket);
  const res = await api(hub.url, 'POST', '/api/jobs', { cookie: pair.ann.cookie, body: { name: 'demo.steps', data: { steps: 2, step_ms: 10 } } });
  if (res.status !== 202) throw new Error(`cycle ${n} job: ${res.status} ${JSON.stringify(res.body)}`);
  const done = await settle(await watch(socket, res.body.job.job_id), got, (j) => j.state === 'completed', 10_000);
  jobsCompleted.push(done.job_id);
}

/** One visit: connect (every 4th over long-polling first), send, see the echo, sometimes sync, leave. */
async function cycle(pair: Pair, n: number): Promise<void> {
  const transports = n % 4 === 0 ? (['polling', 'websocket'] as const) : (['websocket'] as const);
  const { socket } = await connectInbox(hub.url, pair.ann.cookie, { transports: [...transports] });
  try {
    const id = `soak-${n}`;
    const echo = waitFor(socket, 'message', (m) => m.client_msg_id === id, 10_000);
    const ack = await request(socket, 'message', { conversation_id: pair.conversationId, message: `hello ${n}`, type: 'TEXT', client_msg_id: id }, 10_000);
    if (!ack.ok) throw new Error(`cycle ${n}: ${JSON.stringify(ack)}`);
    await echo;
    if (n % 10 === 0) {
      const synced = await request(socket, 'sync', { cursors: { [pair.conversationId]: Math.max(0, ack.message.seq - 5) }, limit: 10 });
      if (!synced.ok) throw new Error(`cycle ${n} sync: ${JSON.stringify(synced)}`);
    }
    if (n % JOB_EVERY === 0) await runJob(socket, pair, n);
  } finally {
    socket.close();
  }
}

/** Cycles [from, to): cycle n belongs to lane n % LANES, and each lane sends in order. */
async function runCycles(from: number, to: number): Promise<void> {
  await Promise.all(
    pairs.map(async (pair, lane) => {
      for (let n = from + ((lane - (from % LANES) + LANES) % LANES); n < to; n += LANES) await cycle(pair, n);
    }),
  );
}

const fdCount = async () => (await readdir(`/proc/${hub.child.pid}/fd`)).length;

/** Waits until the hub has let go of the clients that left: its descriptor count holds still. */
async function settleDescriptors(): Promise<void> {
  const deadline = Date.now() + 15_000;
  let last = -1;
  let steady = 0;
  while (Date.now() < deadline && steady < 5) {
    const now = await fdCount();
    steady = now === last ? steady + 1 : 0;
    last = now;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function checkpoint(cycles: number, startedAt: number): Promise<Checkpoint> {
  await settleDescriptors();
  const seen = hub.output().split('SOAK-PROBE ').length;
  hub.child.kill('SIGUSR2');
  await expect.poll(() => hub.output().split('SOAK-PROBE ').length, { timeout: 5000, interval: 20 }).toBe(seen + 1);
  const line = hub.output().split('SOAK-PROBE ')[seen]!.split('\n')[0]!;
  const probe = JSON.parse(line) as { heapUsed: number; resources: number };
  const status = await readFile(`/proc/${hub.child.pid}/status`, 'utf8');
  const rssKb = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)![1]);
  return {
    cycles,
    seconds: Math.round((Date.now() - startedAt) / 100) / 10,
    rss: rssKb * 1024,
    heapUsed: probe.heapUsed,
    fds: await fdCount(),
    resources: probe.resources,
  };
}

const inMb = (bytes: number) => Math.round((bytes / MB) * 10) / 10;

describe('soak', () => {
  it(`${CYCLES} connect/send/disconnect cycles over ${LANES} conversations, every ${JOB_EVERY}th with a watched job: nothing lost, memory and descriptors flat`, async () => {
    const startedAt = Date.now();
    const checkpoints: Checkpoint[] = [];
    const step = CYCLES / CHECKPOINTS;
    for (let k = 0; k < CHECKPOINTS; k++) {
      await runCycles(k * step, (k + 1) * step);
      checkpoints.push(await checkpoint((k + 1) * step, startedAt));
    }
    const runSeconds = (Date.now() - startedAt) / 1000;
    console.log(
      `soak: ${CYCLES} cycles in ${runSeconds.toFixed(1)} s\n` +
        checkpoints
          .map((c) => `  ${c.cycles} cycles @${c.seconds}s: rss ${inMb(c.rss)} MB, heap ${inMb(c.heapUsed)} MB, fds ${c.fds}, resources ${c.resources}`)
          .join('\n'),
    );

    // Every lane's messages reached its long-lived receiver once each, in order.
    for (const [lane, pair] of pairs.entries()) {
      const expected = Array.from({ length: CYCLES / LANES }, (_, i) => `soak-${lane + i * LANES}`);
      expect(pair.received.map((m) => m.client_msg_id)).toEqual(expected);
      expect(pair.received.map((m) => m.seq)).toEqual(expected.map((_, i) => i + 1));
    }

    expect(new Set(jobsCompleted).size).toBe(CYCLES / JOB_EVERY);

    const [warm, last] = [checkpoints[0]!, checkpoints.at(-1)!];
    expect(last.rss - warm.rss).toBeLessThan(MAX_RSS_GROWTH);
    expect(last.heapUsed - warm.heapUsed).toBeLessThan(MAX_HEAP_GROWTH);
    expect(last.fds - warm.fds).toBeLessThanOrEqual(MAX_FD_GROWTH);
    expectAlive(hub);
    expectAlive(worker);
    expect(await hub.stop('SIGTERM')).toBe(0);
    expect(await worker.stop('SIGTERM')).toBe(0);
  }, 170_000);
});
