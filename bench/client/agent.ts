/**
 * A bench client process: opens socket.io-client sockets as told, sends `message` on an
 * open-loop schedule, and measures what every socket receives. Runs as a forked child
 * of bench/run.ts; one process holds at most a few thousand sockets (open-file limit).
 */
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, JobDto, MessageDto, ServerToClientEvents } from '../../src/realtime/protocol.js';
import {
  clock,
  type AgentEnvelope,
  type AgentReply,
  type AgentRequest,
  type ConnectRequest,
  type ConnectResult,
  type JobSamples,
  type JobWatchRequest,
  type SendResult,
  type SocketSpec,
  type SocketStatus,
  type StepCounters,
  type StepRequest,
  type StepSamples,
} from './protocol.js';
import { SeqTracker } from './seq-tracker.js';

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

interface Target {
  sockets: ClientSocket[];
  senders: Array<{ socket: ClientSocket; conversationId: number; peers: number }>;
  tracker: SeqTracker;
  seqStride: number;
  dropped: number;
  jobs: JobState;
}

/** One `job:status` as a watcher got it: its seq, and the latency if it was a progress update. */
type JobEvent = [seq: number, latencyMs: number | null];

interface JobState {
  watched: number;
  watchErrors: Record<string, number>;
  /** Per `socket:job`, in arrival order; judged against the watch's snapshot at collect time. */
  events: Map<string, JobEvent[]>;
  snapshotSeq: Map<string, number>;
  completed: number;
}

interface Step extends Omit<StepCounters, 'dropped'> {
  target: Target;
  latency: number[];
  ackLatency: number[];
}

const targets = new Map<string, Target>();
const steps = new Map<number, Step>();
const agentId = process.env.BENCH_AGENT_ID ?? String(process.pid);

const newJobState = (): JobState => ({ watched: 0, watchErrors: {}, events: new Map(), snapshotSeq: new Map(), completed: 0 });

function targetOf(name: string, seqStride = 1): Target {
  let t = targets.get(name);
  if (!t) {
    t = { sockets: [], senders: [], tracker: new SeqTracker(), seqStride, dropped: 0, jobs: newJobState() };
    targets.set(name, t);
  }
  return t;
}

const bump = (counts: Record<string, number>, key: string) => {
  counts[key] = (counts[key] ?? 0) + 1;
};

/** Every `message` a socket receives: seq bookkeeping for all, latency for other members' only. */
function onDelivery(t: Target, socketIndex: number, ownId: string, m: MessageDto): void {
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
  step.latency.push(now - Number(m.message.slice(bar + 1, m.message.indexOf('|', bar + 1))));
}

function onJobStatus(t: Target, socketIndex: number, job: JobDto): void {
  const now = clock();
  const key = `${socketIndex}:${job.job_id}`;
  // Progress updates only: the first `active` (attempt started) can precede the watch.
  const latency = job.state === 'active' && job.progress > 0 ? now - Date.parse(job.updated_at) : null;
  const list = t.jobs.events.get(key);
  if (list) list.push([job.seq, latency]);
  else t.jobs.events.set(key, [[job.seq, latency]]);
  if (job.state === 'completed') t.jobs.completed++;
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
  socket.on('message', (m) => onDelivery(t, index, ownId, m));
  socket.on('job:status', (job) => onJobStatus(t, index, job));
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
  const { target, latency: _l, ackLatency: _a, ...c } = s;
  return { ...c, ackErrors: { ...c.ackErrors }, dropped: target.dropped };
}

function collect(stepId: number): StepSamples {
  const s = steps.get(stepId);
  const c = counters(stepId);
  steps.delete(stepId);
  return { ...c, latencyMs: Float64Array.from(s!.latency), ackLatencyMs: Float64Array.from(s!.ackLatency) };
}

/**
 * Each watcher asks `job:watch` for its jobs; later `job:status` events are measured.
 * `stepsBefore` counts the demo.steps progress already made when a watch began (from
 * the snapshot's `step k/n` status text): those updates went out before the watch.
 */
async function watchJobs(req: JobWatchRequest): Promise<{ watched: number; errors: Record<string, number>; stepsBefore: number }> {
  const t = targetOf(req.target);
  const errors: Record<string, number> = {};
  let watched = 0;
  let stepsBefore = 0;
  await Promise.all(
    req.watches.flatMap(({ socket, jobIds }) =>
      jobIds.map(async (jobId) => {
        try {
          const ack = await t.sockets[socket]!.timeout(req.timeoutMs).emitWithAck('job:watch', { job_id: jobId });
          if (!ack.ok) return bump(errors, ack.error.code);
          watched++;
          t.jobs.snapshotSeq.set(`${socket}:${jobId}`, ack.job.seq);
          stepsBefore += Number(/^step (\d+)\//.exec(ack.job.status_text ?? '')?.[1] ?? 0);
        } catch {
          bump(errors, 'ack_timeout');
        }
      }),
    ),
  );
  t.jobs.watched += watched;
  for (const [k, n] of Object.entries(errors)) t.jobs.watchErrors[k] = (t.jobs.watchErrors[k] ?? 0) + n;
  return { watched, errors, stepsBefore };
}

/**
 * A change stored while a watch was being set up may arrive before the ack, or after it
 * inside the snapshot: only changes after the snapshot's seq count, in arrival order.
 */
function collectJobs(name: string): JobSamples {
  const t = targetOf(name);
  const s = t.jobs;
  t.jobs = newJobState();
  const latency: number[] = [];
  let nonMonotonic = 0;
  for (const [key, events] of s.events) {
    let last = s.snapshotSeq.get(key) ?? 0;
    for (const [seq, ms] of events) {
      if (seq <= (s.snapshotSeq.get(key) ?? 0)) continue;
      if (seq <= last) nonMonotonic++;
      last = Math.max(last, seq);
      if (ms !== null) latency.push(ms);
    }
  }
  return {
    watched: s.watched, watchErrors: s.watchErrors, updates: latency.length,
    latencyMs: Float64Array.from(latency), nonMonotonic, completed: s.completed,
  };
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
    case 'watch-jobs': return watchJobs(req);
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
