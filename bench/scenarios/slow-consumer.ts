import { randomBytes } from 'node:crypto';
import { connect as tcpConnect, createServer, type Socket as TcpSocket } from 'node:net';
import { io, type Socket } from 'socket.io-client';
import type { AgentPool } from '../client/pool.js';
import type { Topology } from '../lib/seed.js';
import type { Target } from '../lib/targets.js';
import { runStep, type StepOptions, type StepResult } from './messages.js';

/** The message load without and with one client that has stopped reading its socket. */
export interface SlowConsumerResult {
  rate: number;
  /** Steps by condition; run off, on, on, off per round. */
  off: StepResult[];
  on: StepResult[];
  /** The other sockets' delivery p99 (ms), the mean over each condition's steps. */
  p99Off: number;
  p99On: number;
  /** Hub RSS peak (MB), the mean over each condition's steps. */
  rssPeakOffMb: number;
  rssPeakOnMb: number;
  /** What was sent to the slow client per "on" step (MB of message text) and what the guard did. */
  slowSentMb: number;
  guard: Record<string, number>;
  /** Resyncs the slow client got, and messages it then missed after `sync` (must be 0). */
  resyncs: number;
  missingAfterSync: number;
  lost: number;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const SLOW_BODY = 4000;
const SLOW_RATE = 100;

/** A loopback proxy in front of one pod that stops reading what the hub sends (a client that stopped reading). */
async function pausedProxy(targetUrl: string) {
  const target = new URL(targetUrl);
  const pipes = new Set<{ up: TcpSocket; down: TcpSocket }>();
  let paused = true;
  const server = createServer((down) => {
    const up = tcpConnect(Number(target.port), target.hostname);
    const pair = { up, down };
    pipes.add(pair);
    for (const s of [up, down]) s.on('error', () => {});
    up.on('close', () => down.destroy());
    down.on('close', () => up.destroy());
    down.pipe(up);
    if (!paused) up.pipe(down);
    else up.pause();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    pause() {
      paused = true;
      for (const { up } of pipes) {
        up.unpipe();
        up.pause();
      }
    },
    resume() {
      paused = false;
      for (const { up, down } of pipes) up.pipe(down);
    },
    close() {
      for (const { up, down } of pipes) {
        up.destroy();
        down.destroy();
      }
      server.close();
    },
  };
}

async function register(base: string, label: string): Promise<{ id: number; cookie: string }> {
  const res = await fetch(`${base}/api/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: `${label}-${randomBytes(5).toString('hex')}@bench.test`, password: 'bench-password', name: label }),
  });
  if (res.status !== 201) throw new Error(`register ${label}: ${res.status}`);
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('sessionid='))!.split(';')[0]!;
  return { id: ((await res.json()) as { user: { id: number } }).user.id, cookie };
}

function inbox(url: string, cookie: string): Promise<Socket> {
  const s = io(`${url}/inbox`, { extraHeaders: { cookie }, transports: ['websocket'], reconnection: false, forceNew: true });
  return new Promise((resolve, reject) => {
    s.once('ready', () => resolve(s));
    s.once('connect_error', reject);
  });
}

async function guardCounts(url: string, token: string | undefined): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} })).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^inbox_slow_consumer_total\{[^}]*action="(\w+)"[^}]*\} (\d+)/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

/**
 * The slow-consumer scenario on the connected hub: the message step at `rate`, off, on, on, off.
 * In every step a feeder sends SLOW_RATE msg/s of SLOW_BODY characters to one more client on the
 * last pod, through a loopback proxy; "on", the proxy stops reading what the hub sends. After
 * the step it reads again, gets its `resync`, and `sync` must give it every message it missed.
 */
export async function runSlowConsumer(
  pool: AgentPool,
  t: Target,
  topo: Topology,
  o: StepOptions & { rate: number; rounds: number; metricsToken?: string; log(line: string): void },
): Promise<SlowConsumerResult> {
  const off: StepResult[] = [];
  const on: StepResult[] = [];
  const pod = t.pods.at(-1)!;
  const feederPod = t.pods[0]!;
  const [slowUser, feederUser] = [await register(feederPod.url, 'slow'), await register(feederPod.url, 'feeder')];
  const conv = await fetch(`${feederPod.url}/api/conversations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie: feederUser.cookie, 'sec-fetch-site': 'same-origin' },
    body: JSON.stringify({ client_id: feederUser.id, worker_id: slowUser.id }),
  });
  const conversationId = ((await conv.json()) as { conversation: { id: number } }).conversation.id;
  const feeder = await inbox(feederPod.url, feederUser.cookie);
  const body = 's'.repeat(SLOW_BODY);
  const guard0 = await guardCounts(pod.url, o.metricsToken);
  let resyncs = 0;
  let missing = 0;
  let slowSent = 0;
  let seq = 0;
  const order = Array.from({ length: o.rounds }, () => [false, true, true, false]).flat();
  for (const slow of order) {
    // Both conditions carry the feeder's load to that client; only "on" stops reading it.
    const proxy = await pausedProxy(pod.url);
    proxy.resume();
    const client = await inbox(proxy.url, slowUser.cookie);
    const got = new Set<number>();
    client.on('message', (m: { seq: number }) => got.add(m.seq));
    const resynced = new Promise<void>((resolve) => client.once('resync', () => resolve()));
    let resyncCount = 0;
    client.on('resync', () => resyncCount++);
    const from = seq;
    if (slow) proxy.pause();
    let feeding = true;
    const feed = (async () => {
      const every = 1000 / SLOW_RATE;
      for (let next = Date.now(); feeding; next += every) {
        feeder.emit('message', { conversation_id: conversationId, message: body, type: 'TEXT' }, () => {});
        seq++;
        if (slow) slowSent++;
        await new Promise((r) => setTimeout(r, Math.max(0, next + every - Date.now())));
      }
    })();
    (slow ? on : off).push(await runStep(pool, t, topo, o.rate, o));
    feeding = false;
    await feed;
    await new Promise((r) => setTimeout(r, 500));
    proxy.resume();
    if (slow) await Promise.race([resynced, new Promise((r) => setTimeout(r, 30_000))]);
    else await new Promise((r) => setTimeout(r, 500));
    // Catch up as the typed client does: from the highest seq held without a gap.
    let cursor = from;
    while (got.has(cursor + 1)) cursor++;
    for (;;) {
      const page = (await client.timeout(30_000).emitWithAck('sync', { cursors: { [conversationId]: cursor }, limit: 500 })) as { messages: { seq: number }[]; has_more: boolean };
      for (const m of page.messages) got.add(m.seq);
      if (page.messages.length > 0) cursor = page.messages.at(-1)!.seq;
      if (!page.has_more) break;
    }
    for (let s = from + 1; s <= seq; s++) if (!got.has(s)) missing++;
    resyncs += resyncCount;
    client.close();
    proxy.close();
    const r = (slow ? on : off).at(-1)!;
    o.log(`  client ${slow ? 'stalled' : 'reading'} ${o.rate}/s: others p99 ${r.latency.p99.toFixed(1)} ms, hub rss peak ${r.rssPeakMb.toFixed(0)} MB, resyncs ${resyncCount}, cpu ${r.cpuMsPerMsg.toFixed(3)} ms/msg`);
  }
  feeder.close();
  const guard1 = await guardCounts(pod.url, o.metricsToken);
  const guard: Record<string, number> = {};
  for (const k of Object.keys(guard1)) guard[k] = guard1[k]! - (guard0[k] ?? 0);
  return {
    rate: o.rate,
    off,
    on,
    p99Off: mean(off.map((r) => r.latency.p99)),
    p99On: mean(on.map((r) => r.latency.p99)),
    rssPeakOffMb: mean(off.map((r) => r.rssPeakMb)),
    rssPeakOnMb: mean(on.map((r) => r.rssPeakMb)),
    slowSentMb: (slowSent * SLOW_BODY) / on.length / 2 ** 20,
    guard,
    resyncs,
    missingAfterSync: missing,
    lost: [...off, ...on].reduce((n, r) => n + r.lost, 0),
  };
}
