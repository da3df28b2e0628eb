import type { ConnectResult, SendResult, StepCounters, StepSamples } from '../client/protocol.js';
import type { AgentPool } from '../client/pool.js';
import { cpuMs, machineTicks, RssSampler, sumCpuMs } from '../lib/proc.js';
import type { Topology } from '../lib/seed.js';
import { sleep } from '../lib/services.js';
import { addCounts, percentiles, type Percentiles } from '../lib/stats.js';
import { pidsOf, seqStrideOf, socketSpec, type Target, type TargetName } from '../lib/targets.js';

/** One fixed-rate step against one target, everything measured. */
export interface StepResult {
  target: TargetName;
  rate: number;
  durationS: number;
  sent: number;
  /** What the agents really managed: they share the two cores with the target. */
  achievedRate: number;
  sendLagP99Ms: number;
  acksOk: number;
  ackErrors: Record<string, number>;
  expected: number;
  received: number;
  lost: number;
  duplicates: number;
  gaps: number;
  reordered: number;
  dropped: number;
  deliveriesPerS: number;
  latency: Percentiles;
  ackLatency: Percentiles;
  drainMs: number;
  cpuMs: number;
  cpuMsPerMsg: number;
  /** Postgres backends of the run's database (the hub's pool), per message sent. */
  pgCpuMsPerMsg: number;
  /** The client processes, per message sent: they share the box with the target. */
  driverCpuMsPerMsg: number;
  /** Stored messages per Postgres commit (group commit at work; approximate, stats lag ~1 s). */
  messagesPerCommit: number;
  rssPeakMb: number;
  machineBusyPct: number;
  /** Receipts steps: the batching delay (0: no receipts), and `delivered` sent, acked ok and heard. */
  deliveredEveryMs: number;
  deliveredSent: number;
  deliveredOk: number;
  deliveredHeard: number;
}

export interface StepOptions {
  durationS: number;
  drainS: number;
  bodySize: number;
  ackTimeoutMs: number;
  deliveredEveryMs?: number;
}

const MB = 1024 * 1024;
let nextStepId = 1;

/** One socket per user, users spread round-robin over agents and pods; every user sends. */
export async function connectTarget(pool: AgentPool, t: Target, topo: Topology): Promise<ConnectResult[]> {
  const results = await pool.all<ConnectResult>(
    (agent) => ({
      type: 'connect',
      target: t.name,
      seqStride: seqStrideOf(t),
      sockets: Array.from({ length: topo.users }, (_, u) => u)
        .filter((u) => u % pool.agents.length === agent.index)
        .map((u) => socketSpec(t, topo, u, u, true)),
      concurrency: 32,
      timeoutMs: 20_000,
    }),
    120_000,
  );
  const failed = results.reduce((n, r) => n + r.failed, 0);
  if (failed > 0) {
    const errors = results.reduce((acc, r) => addCounts(acc, r.errors), {} as Record<string, number>);
    throw new Error(`${t.name}: ${failed} of ${topo.users} sockets failed to connect: ${JSON.stringify(errors)}`);
  }
  return results;
}

const sumCounters = (list: StepCounters[]) =>
  list.reduce(
    (a, c) => ({
      sent: a.sent + c.sent, acksOk: a.acksOk + c.acksOk, expected: a.expected + c.expected,
      ackErrors: addCounts(a.ackErrors, c.ackErrors), pendingAcks: a.pendingAcks + c.pendingAcks,
      received: a.received + c.received, duplicates: a.duplicates + c.duplicates, gaps: a.gaps + c.gaps,
      reordered: a.reordered + c.reordered, dropped: a.dropped + c.dropped,
      deliveredSent: a.deliveredSent + c.deliveredSent, deliveredOk: a.deliveredOk + c.deliveredOk, deliveredHeard: a.deliveredHeard + c.deliveredHeard,
    }),
    {
      sent: 0, acksOk: 0, expected: 0, ackErrors: {}, pendingAcks: 0, received: 0, duplicates: 0, gaps: 0, reordered: 0, dropped: 0,
      deliveredSent: 0, deliveredOk: 0, deliveredHeard: 0,
    } as StepCounters,
  );

/**
 * Waits until every ack is back and every expected delivery arrived, at most `drainS`
 * for deliveries and then the ack timeout for acks, so the next step starts clean.
 */
async function drain(pool: AgentPool, stepId: number, o: StepOptions): Promise<number> {
  const started = Date.now();
  const deliveriesBy = started + o.drainS * 1000;
  const acksBy = deliveriesBy + o.ackTimeoutMs + 1000;
  for (;;) {
    const c = sumCounters(await pool.all<StepCounters>(() => ({ type: 'counters', stepId }), 10_000));
    const now = Date.now();
    if (c.pendingAcks === 0 && (c.received >= c.expected || now > deliveriesBy)) return now - started;
    if (now > acksBy) return now - started;
    await sleep(50);
  }
}

/** Runs one open-loop step: the aggregate rate split over agents by how many sockets each sends from. */
export async function runStep(pool: AgentPool, t: Target, topo: Topology, rate: number, o: StepOptions): Promise<StepResult> {
  const stepId = nextStepId++;
  const pids = pidsOf(t);
  const agentPids = pool.agents.map((a) => a.pid);
  const backends = () => t.store?.backendPids() ?? Promise.resolve([]);
  const commits = () => t.store?.commits() ?? Promise.resolve(0);
  const pg0 = new Map((await backends()).map((pid) => [pid, cpuMs(pid)]));
  const commits0 = await commits();
  const driver0 = sumCpuMs(agentPids);
  const sendersOf = (index: number) => Math.ceil((topo.users - index) / pool.agents.length);
  const rss = new RssSampler(pids);
  const cpu0 = sumCpuMs(pids);
  const m0 = machineTicks();
  const sends = await pool.all<SendResult>(
    (agent) => ({
      type: 'step', target: t.name, stepId, rate: (rate * sendersOf(agent.index)) / topo.users,
      durationMs: o.durationS * 1000, bodySize: o.bodySize, ackTimeoutMs: o.ackTimeoutMs, deliveredEveryMs: o.deliveredEveryMs ?? 0,
    }),
    o.durationS * 1000 + 60_000,
  );
  const drainMs = await drain(pool, stepId, o);
  const targetCpuMs = sumCpuMs(pids) - cpu0;
  const m1 = machineTicks();
  const driverMs = sumCpuMs(agentPids) - driver0;
  // A backend opened during the step counts from zero; one closed during it is missed (rare: idle timeout 60 s).
  const pgMs = (await backends()).reduce((sum, pid) => sum + (cpuMs(pid) - (pg0.get(pid) ?? 0) || 0), 0);
  const { peak } = rss.stop();
  const samples = await pool.all<StepSamples>(() => ({ type: 'collect', stepId }), 30_000);
  const c = sumCounters(samples);
  const committed = (await commits()) - commits0;
  const sendMs = Math.max(...sends.map((s) => s.sendMs));
  return {
    target: t.name,
    rate,
    durationS: o.durationS,
    sent: c.sent,
    achievedRate: c.sent / (sendMs / 1000),
    sendLagP99Ms: Math.max(...sends.map((s) => s.lagP99Ms)),
    acksOk: c.acksOk,
    ackErrors: c.ackErrors,
    expected: c.expected,
    received: c.received,
    lost: Math.max(0, c.expected - c.received),
    duplicates: c.duplicates,
    gaps: c.gaps,
    reordered: c.reordered,
    dropped: c.dropped,
    deliveriesPerS: c.received / o.durationS,
    latency: percentiles(samples.map((s) => s.latencyMs)),
    ackLatency: percentiles(samples.map((s) => s.ackLatencyMs)),
    drainMs,
    cpuMs: targetCpuMs,
    cpuMsPerMsg: c.sent > 0 ? targetCpuMs / c.sent : Number.NaN,
    pgCpuMsPerMsg: c.sent > 0 ? pgMs / c.sent : Number.NaN,
    driverCpuMsPerMsg: c.sent > 0 ? driverMs / c.sent : Number.NaN,
    messagesPerCommit: committed > 0 ? c.acksOk / committed : Number.NaN,
    rssPeakMb: peak / MB,
    machineBusyPct: (100 * (m1.busy - m0.busy)) / Math.max(1, m1.total - m0.total),
    deliveredEveryMs: o.deliveredEveryMs ?? 0,
    deliveredSent: c.deliveredSent,
    deliveredOk: c.deliveredOk,
    deliveredHeard: c.deliveredHeard,
  };
}

/** Sustained means: nothing lost, no ack errors, p99 under the limit, and the agents kept the schedule. */
export function sustained(r: StepResult, p99LimitMs: number): boolean {
  const ackErrors = Object.values(r.ackErrors).reduce((a, b) => a + b, 0);
  return r.lost === 0 && ackErrors === 0 && r.latency.p99 < p99LimitMs && r.sendLagP99Ms < p99LimitMs;
}
