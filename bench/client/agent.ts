/**
 * A bench client process: opens socket.io-client sockets as told, sends `message` on an
 * open-loop schedule, and measures what every socket receives. Runs as a forked child
 * of bench/run.ts; one process holds at most a few thousand sockets (open-file limit).
 */
import { io } from 'socket.io-client';
import type { MessageDto } from '../../src/realtime/protocol.js';
import { JobWatches } from './job-watch.js';
import {
  clock,
  type AgentEnvelope,
  type AgentReply,
  type AgentRequest,
  type ClientSocket,
  type ConnectRequest,
  type ConnectResult,
  type JobSamples,
  type SendResult,
  type SocketSpec,
  type SocketStatus,
  type StepCounters,
  type StepRequest,
  type StepSamples,
} from './protocol.js';
import { SeqTracker } from './seq-tracker.js';

interface Target {
  sockets: ClientSocket[];
  senders: Array<{ socket: ClientSocket; conversationId: number; peers: number }>;
  tracker: SeqTracker;
  seqStride: number;
  dropped: number;
  jobs: JobWatches;
}

interface Step extends Omit<StepCounters, 'dropped'> {
  target: Target;
  latency: number[];
  ackLatency: number[];
  deliveredEveryMs: number;
  ackTimeoutMs: number;
}

/** One socket's receipts not yet sent: the highest seq per conversation, flushed by one timer. */
interface DueReceipts {
  socket: ClientSocket;
  due: Map<number, number>;
  timer: NodeJS.Timeout | null;
}

const targets = new Map<string, Target>();
const steps = new Map<number, Step>();
/** The step running now: `delivered` events heard are counted on it. */
let current: Step | null = null;
const receipts = new Map<ClientSocket, DueReceipts>();
const agentId = process.env.BENCH_AGENT_ID ?? String(process.pid);

function targetOf(name: string, seqStride = 1): Target {
  let t = targets.get(name);
  if (!t) {
    t = { sockets: [], senders: [], tracker: new SeqTracker(), seqStride, dropped: 0, jobs: new JobWatches() };
    targets.set(name, t);
  }
  return t;
}

const bump = (counts: Record<string, number>, key: string) => {
  counts[key] = (counts[key] ?? 0) + 1;
};

/** Sends what `socket` has received as `delivered`, like the typed client: batched per conversation. */
function markDelivered(step: Step, socket: ClientSocket, m: MessageDto): void {
  let r = receipts.get(socket);
  if (!r) receipts.set(socket, (r = { socket, due: new Map(), timer: null }));
  if (m.seq <= (r.due.get(m.conversation_id) ?? 0)) return;
  r.due.set(m.conversation_id, m.seq);
  r.timer ??= setTimeout(() => flushReceipts(step, r), step.deliveredEveryMs);
}

function flushReceipts(step: Step, r: DueReceipts): void {
  r.timer = null;
  for (const [conversationId, seq] of r.due) {
    step.deliveredSent++;
    step.pendingAcks++;
    r.socket.timeout(step.ackTimeoutMs).emit('delivered', { conversation_id: conversationId, seq }, (err: Error | null, ack) => {
      step.pendingAcks--;
      if (err) bump(step.ackErrors, 'delivered_ack_timeout');
      else if (ack.ok) step.deliveredOk++;
      else bump(step.ackErrors, `delivered_${ack.error.code}`);
    });
  }
  r.due.clear();
}

/** Every `message` a socket receives: seq bookkeeping for all, latency for other members' only. */
function onDelivery(t: Target, socketIndex: number, ownId: string, m: MessageDto, socket: ClientSocket): void {
  const now = clock();
  const streamKey = (socketIndex * 2_097_152 + m.conversation_id) * t.seqStride + (m.id % t.seqStride);
  const verdict = t.tracker.see(streamKey, m.seq);
  const bar = m.message.indexOf('|');
  const step = steps.get(Number(m.message.slice(0, bar)));
  if (!step) return;
  if (verdict === 'duplicate') {
    step.duplicates++;
    return;
  }
  if (verdict === 'gap') step.gaps++;
  else if (verdict === 'reordered') step.reordered++;
  if (m.sender_id === ownId) return;
  step.received++;
  if (step.deliveredEveryMs > 0) markDelivered(step, socket, m);
  step.latency.push(now - Number(m.message.slice(bar + 1, m.message.indexOf('|', bar + 1))));
}

function openSocket(t: Target, index: number, spec: SocketSpec, timeoutMs: number): Promise<number> {
  const started = clock();
  const socket: ClientSocket = io(`${spec.url}/inbox`, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    timeout: timeoutMs,
    ...(spec.cookie ? { extraHeaders: { cookie: spec.cookie } } : {}),
    ...(spec.auth ? { auth: spec.auth } : {}),
  });
  const ownId = String(spec.userId);
  socket.on('message', (m) => onDelivery(t, index, ownId, m, socket));
  socket.on('delivered', () => void (current && current.deliveredEveryMs > 0 && current.deliveredHeard++));
  socket.on('job:status', (job) => t.jobs.onStatus(index, job));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error('ready_timeout')), timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket.close();
      reject(err);
    };
    socket.once('connect_error', fail);
    socket.once('ready', () => {
      clearTimeout(timer);
      t.sockets[index] = socket;
      for (const s of spec.send) t.senders.push({ socket, conversationId: s.conversationId, peers: s.peers });
      socket.on('disconnect', (reason) => {
        if (reason !== 'io client disconnect') t.dropped++;
      });
      resolve(clock() - started);
    });
  });
}

/** Opens all sockets with bounded concurrency; a failure is counted, never retried. */
async function connect(req: ConnectRequest): Promise<ConnectResult> {
  const t = targetOf(req.target, req.seqStride);
  const base = t.sockets.length;
  const connectMs: number[] = [];
  const errors: Record<string, number> = {};
  const started = clock();
  let next = 0;
  const lane = async () => {
    while (next < req.sockets.length) {
      const i = next++;
      try {
        connectMs.push(await openSocket(t, base + i, req.sockets[i]!, req.timeoutMs));
      } catch (err) {
        bump(errors, (err as Error).message || 'error');
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(req.concurrency, req.sockets.length) }, lane));
  const failed = req.sockets.length - connectMs.length;
  return { connected: connectMs.length, failed, errors, durationMs: clock() - started, connectMs: Float64Array.from(connectMs) };
}

function newStep(req: StepRequest, t: Target): Step {
  return {
    target: t, sent: 0, acksOk: 0, expected: 0, ackErrors: {}, pendingAcks: 0,
    received: 0, duplicates: 0, gaps: 0, reordered: 0, latency: [], ackLatency: [],
    deliveredSent: 0, deliveredOk: 0, deliveredHeard: 0, deliveredEveryMs: req.deliveredEveryMs ?? 0, ackTimeoutMs: req.ackTimeoutMs,
  };
}

/**
 * Open loop: message k is due at start + k/rate whatever the acks do, so a slow server
 * shows up as latency rather than as a politely lowered rate (no coordinated omission).
 */
function runStep(req: StepRequest): Promise<SendResult> {
  const t = targetOf(req.target);
  const step = newStep(req, t);
  steps.set(req.stepId, step);
  current = step;
  const total = t.senders.length === 0 ? 0 : Math.round((req.rate * req.durationMs) / 1000);
  const filler = 'x'.repeat(req.bodySize);
  const lags: number[] = [];
  const start = clock();
  const send = (k: number) => {
    const slot = t.senders[k % t.senders.length]!;
    const sentAt = clock();
    lags.push(sentAt - (start + (k * 1000) / req.rate));
    const head = `${req.stepId}|${sentAt.toFixed(3)}|`;
    const payload = { conversation_id: slot.conversationId, message: head + filler.slice(head.length), type: 'TEXT' as const, client_msg_id: `${agentId}.${req.stepId}.${k}` };
    step.sent++;
    step.pendingAcks++;
    slot.socket.timeout(req.ackTimeoutMs).emit('message', payload, (err: Error | null, ack) => {
      step.pendingAcks--;
      if (err) bump(step.ackErrors, 'ack_timeout');
      else if (ack.ok) {
        step.acksOk++;
        step.expected += slot.peers;
        step.ackLatency.push(clock() - sentAt);
      } else bump(step.ackErrors, ack.error.code);
    });
  };
  return new Promise((resolve) => {
    let k = 0;
    const hardStop = start + req.durationMs + 30_000;
    const tick = () => {
      const now = clock();
      const due = Math.min(total, Math.floor(((now - start) * req.rate) / 1000) + 1);
      // Bounded per tick so acks and deliveries still get CPU while catching up.
      for (let burst = 0; k < due && burst < 500; burst++) send(k++);
      if (k >= total || now > hardStop) {
        lags.sort((a, b) => a - b);
        const p99 = lags.length ? lags[Math.ceil(lags.length * 0.99) - 1]! : 0;
        resolve({ sent: k, lagP99Ms: p99, lagMaxMs: lags.at(-1) ?? 0, sendMs: clock() - start });
        return;
      }
      if (k < due) setImmediate(tick);
      else setTimeout(tick, 1);
    };
    tick();
  });
}

function counters(stepId: number): StepCounters {
  const s = steps.get(stepId);
  if (!s) throw new Error(`unknown step ${stepId}`);
  const { target, latency: _l, ackLatency: _a, deliveredEveryMs: _d, ackTimeoutMs: _t, ...c } = s;
  return { ...c, ackErrors: { ...c.ackErrors }, dropped: target.dropped };
}

function collect(stepId: number): StepSamples {
  const s = steps.get(stepId);
  const c = counters(stepId);
  steps.delete(stepId);
  return { ...c, latencyMs: Float64Array.from(s!.latency), ackLatencyMs: Float64Array.from(s!.ackLatency) };
}

function collectJobs(name: string): JobSamples {
  const t = targetOf(name);
  const samples = t.jobs.samples();
  t.jobs = new JobWatches();
  return samples;
}

function status(name: string): SocketStatus {
  const t = targets.get(name);
  return { open: t ? t.sockets.filter((s) => s?.connected).length : 0, dropped: t?.dropped ?? 0 };
}

function disconnect(name: string): { closed: number } {
  const t = targets.get(name);
  if (!t) return { closed: 0 };
  for (const s of t.sockets) s?.disconnect();
  targets.delete(name);
  return { closed: t.sockets.length };
}

async function handle(req: AgentRequest): Promise<unknown> {
  switch (req.type) {
    case 'connect': return connect(req);
    case 'step': return runStep(req);
    case 'counters': return counters(req.stepId);
    case 'collect': return collect(req.stepId);
    case 'watch-jobs': return targetOf(req.target).jobs.watch(targetOf(req.target).sockets, req.watches, req.timeoutMs);
    case 'collect-jobs': return collectJobs(req.target);
    case 'job-progress': return { completed: targets.get(req.target)?.jobs.completed ?? 0 };
    case 'disconnect': return disconnect(req.target);
    case 'status': return status(req.target);
    case 'ping': return {};
  }
}

process.on('message', (envelope: AgentEnvelope) => {
  handle(envelope.request).then(
    (result) => process.send!({ id: envelope.id, ok: true, result } satisfies AgentReply),
    (err: unknown) => process.send!({ id: envelope.id, ok: false, error: String((err as Error)?.message ?? err) } satisfies AgentReply),
  );
});
// The coordinator going away (even by SIGKILL) must not leave agents behind.
process.on('disconnect', () => process.exit(0));
