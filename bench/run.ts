/**
 * `npm run bench`: starts the hub (compiled, as production runs it) on a fresh database,
 * a bare Socket.IO ceiling next to it, drives both with the same client processes, and
 * prints every figure side by side. Loopback only; every loop is bounded; it stops itself.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { AgentPool } from './client/pool.js';
import { checkTargets } from './lib/checks.js';
import { parseOptions, type BenchOptions } from './lib/options.js';
import { render, type BenchReport } from './lib/report.js';
import { ceilingSeed, seedHub, topology, type Seeded, type Topology } from './lib/seed.js';
import { machineTicks } from './lib/proc.js';
import { stopAll } from './lib/services.js';
import { createStore, hubEnv, dirRuntime, prepareRevision, prepareRuntime, ROOT, startCeilingPods, startHubPods, startWorker, type BenchStore, type Runtime } from './lib/stack.js';
import type { Target, TargetName } from './lib/targets.js';
import { runConnections, type ConnectionResult } from './scenarios/connections.js';
import { jobTrackerMissing, runJobs, skippedJobs, type JobResult } from './scenarios/jobs.js';
import { findMaxRate, type MaxRateResult } from './scenarios/max-rate.js';
import { connectTarget, runStep, type StepOptions, type StepResult } from './scenarios/messages.js';
import { runOutput, type OutputResult } from './scenarios/output.js';
import { runPresence, type PresenceResult } from './scenarios/presence.js';
import { runReceipts, type ReceiptResult } from './scenarios/receipts.js';
import { runSlowConsumer, type SlowConsumerResult } from './scenarios/slow-consumer.js';
import { runSnapshot, type SnapshotResult } from './scenarios/snapshot.js';

const log = (line: string) => process.stderr.write(`${line}\n`);
/** Set while the run's databases exist, so an interrupt can still drop them. */
let dropStores: (() => Promise<void>) | null = null;
const ACK_TIMEOUT_MS = 15_000;

/** How to start each system under test afresh; `seed` is filled once, by the first hub started. */
interface Kind {
  name: TargetName;
  start(): Promise<Target>;
}

interface Stack {
  options: BenchOptions;
  topo: Topology;
  kinds: Kind[];
}

function hubKind(name: 'hub' | 'baseline', runtime: Runtime, store: BenchStore, o: BenchOptions): Kind & { seed: Seeded | null; env: Record<string, string>; runtime: Runtime } {
  const env = hubEnv(store, randomBytes(32).toString('hex'));
  const kind = {
    name,
    env,
    runtime,
    seed: null as Seeded | null,
    start: async (): Promise<Target> => ({
      name,
      pods: await startHubPods(runtime, env, o.pods, name === 'hub' ? o.hubNodeArgs : []),
      seed: kind.seed ?? { users: [], conversationIds: [] },
      store,
    }),
  };
  return kind;
}

const ceilingKind = (store: BenchStore, topo: Topology, pods: number): Kind => ({
  name: 'ceiling',
  start: async () => ({ name: 'ceiling', pods: await startCeilingPods(store, pods), seed: ceilingSeed(topo), store: null }),
});

const stopTarget = (t: Target) => Promise.all(t.pods.map((p) => p.stop()));

function describeStep(r: StepResult): string {
  const errors = Object.entries(r.ackErrors).map(([k, n]) => `${k}:${n}`).join(' ');
  const pg = r.target === 'ceiling' ? '' : `, pg ${r.pgCpuMsPerMsg.toFixed(3)}, ${r.messagesPerCommit.toFixed(1)} msg/commit`;
  return `  ${r.target.padEnd(8)} ${String(r.rate).padStart(6)}/s  sent ${r.achievedRate.toFixed(0)}/s  p50 ${r.latency.p50.toFixed(2)}  p99 ${r.latency.p99.toFixed(2)}  max ${r.latency.max.toFixed(1)} ms  lost ${r.lost}  dup ${r.duplicates}  gaps ${r.gaps}  cpu ${r.cpuMsPerMsg.toFixed(3)} ms/msg (clients ${r.driverCpuMsPerMsg.toFixed(3)}${pg})  box ${r.machineBusyPct.toFixed(0)}%${errors ? `  ack errors ${errors}` : ''}`;
}

const needsMessageSockets = (o: BenchOptions) => ['messages', 'max', 'receipts', 'slow-consumer'].some((x) => o.scenarios.includes(x as BenchOptions['scenarios'][number]));

/**
 * Fixed-rate steps, alternating the targets per rate so all see the same box; then the max
 * search; then the receipts steps (the hub only: the ceiling and an older hub have no `delivered`).
 */
async function messageScenarios(
  s: Stack,
  running: Target[],
): Promise<{ steps: StepResult[]; maxRate: MaxRateResult[]; receipts: ReceiptResult[]; slowConsumer: SlowConsumerResult[] }> {
  const o = s.options;
  const pool = await new AgentPool(o.clientProcs).ready();
  const steps: StepResult[] = [];
  const maxRate: MaxRateResult[] = [];
  const receipts: ReceiptResult[] = [];
  const slowConsumer: SlowConsumerResult[] = [];
  try {
    for (const t of running) await connectTarget(pool, t, s.topo);
    const base: StepOptions = { durationS: o.durationS, drainS: o.drainS, bodySize: o.bodySize, ackTimeoutMs: ACK_TIMEOUT_MS };
    if (o.warmupS > 0) {
      log(`warm-up: ${o.warmupS} s at ${o.rates[0]} msg/s per target`);
      for (const t of running) await runStep(pool, t, s.topo, o.rates[0]!, { ...base, durationS: o.warmupS });
    }
    if (o.scenarios.includes('messages')) {
      for (const rate of o.rates) {
        for (const t of running) {
          const r = await runStep(pool, t, s.topo, rate, base);
          log(describeStep(r));
          steps.push(r);
        }
      }
    }
    if (o.scenarios.includes('max')) {
      for (const t of running) {
        log(`searching the highest sustained rate of the ${t.name}`);
        const known = steps.filter((r) => r.target === t.name);
        maxRate.push(await findMaxRate(pool, t, s.topo, known, { ...base, durationS: o.probeDurationS, p99LimitMs: o.p99LimitMs, maxProbes: o.maxProbes, log }));
      }
    }
    const hub = running.find((t) => t.name === 'hub');
    if (o.scenarios.includes('receipts') && hub) {
      log(`receipts: ${o.receiptRate} msg/s without and with every recipient sending delivered (gathered for ${o.receiptEveryMs} ms)`);
      receipts.push(await runReceipts(pool, hub, s.topo, { ...base, rate: o.receiptRate, everyMs: o.receiptEveryMs, rounds: o.receiptRounds, log }));
    }
    if (o.scenarios.includes('slow-consumer') && hub) {
      log(`slow consumer: ${o.slowRate} msg/s without and with one client that stopped reading its socket`);
      slowConsumer.push(await runSlowConsumer(pool, hub, s.topo, { ...base, rate: o.slowRate, rounds: o.slowRounds, metricsToken: (s.kinds.find((k) => k.name === 'hub') as { env?: Record<string, string> } | undefined)?.env?.METRICS_TOKEN, log }));
    }
    for (const t of running) await pool.all(() => ({ type: 'disconnect', target: t.name }), 30_000);
  } finally {
    await pool.close();
  }
  return { steps, maxRate, receipts, slowConsumer };
}

/** Connect cost by inbox size, on a freshly started pod of each hub (not the ceiling: it has no snapshot). */
async function snapshotScenario(s: Stack): Promise<SnapshotResult[]> {
  const out: SnapshotResult[] = [];
  for (const kind of s.kinds.filter((k) => k.name !== 'ceiling')) {
    const t = await kind.start();
    try {
      out.push(...(await runSnapshot(t, { sizes: s.options.snapshotSizes, connects: s.options.snapshotConnects, log })));
    } finally {
      await stopTarget(t);
    }
  }
  return out;
}

/** Each target freshly started, so its empty RSS is a real baseline. */
async function connectionScenario(s: Stack): Promise<ConnectionResult[]> {
  const out: ConnectionResult[] = [];
  for (const kind of s.kinds) {
    const t = await kind.start();
    try {
      out.push(await runConnections(t, s.topo, { sockets: s.options.sockets, socketProcs: s.options.socketProcs, log }));
    } finally {
      await stopTarget(t);
    }
  }
  return out;
}

/** A fresh hub and one worker process; skipped, saying why, while the job tracker is missing. */
async function jobScenario(hub: ReturnType<typeof hubKind>, topo: Topology, o: BenchOptions): Promise<JobResult> {
  const missing = jobTrackerMissing();
  if (missing) {
    log(`jobs scenario skipped: ${missing}`);
    return skippedJobs(missing);
  }
  log(`job scenario: ${o.jobs} demo.steps jobs, ${o.jobUpdatesPerS} progress updates/s`);
  const t = await hub.start();
  try {
    const worker = await startWorker(hub.runtime, hub.env, o.jobs);
    try {
      return await runJobs(t, worker, topo, { jobs: o.jobs, updatesPerS: o.jobUpdatesPerS, durationS: o.jobDurationS, watchersPerJob: o.jobWatchers, log });
    } finally {
      await worker.stop();
    }
  } finally {
    await stopTarget(t);
  }
}

/**
 * A fresh hub, seeded users, and demo.stream jobs: each phase starts its own worker once the
 * watches are in place (so every watcher sees its job start).
 */
async function outputScenario(hub: ReturnType<typeof hubKind>, o: BenchOptions): Promise<OutputResult> {
  log(`output scenario: ${o.outputJobs} demo.stream jobs at ${o.outputTokensPerS} tokens/s, 2 watchers each; then one watcher per job reconnecting every ${o.outputReconnectMs} ms`);
  const t = await hub.start();
  try {
    if (t.seed.users.length === 0) t.seed = hub.seed = await seedHub(t.pods[0]!.url, topology(20, 1), t.store!.runId);
    return await runOutput(t, () => startWorker(hub.runtime, hub.env, o.outputJobs), {
      jobs: o.outputJobs, tokensPerS: o.outputTokensPerS, durationS: o.outputDurationS, watchersPerJob: 2, reconnectEveryMs: o.outputReconnectMs, log,
    });
  } finally {
    await stopTarget(t);
  }
}

/** How busy the machine is before the bench starts anything: 2 s of /proc/stat. */
async function backgroundBusy(): Promise<number> {
  const a = machineTicks();
  await new Promise((r) => setTimeout(r, 2000));
  const b = machineTicks();
  return (100 * (b.busy - a.busy)) / Math.max(1, b.total - a.total);
}

function gitCommit(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT }).toString().trim();
    return dirty ? `${sha}+uncommitted-src` : sha;
  } catch {
    return 'unknown';
  }
}

async function run(options: BenchOptions): Promise<BenchReport> {
  const startedAt = new Date().toISOString();
  const revision = options.hubRev ? await prepareRevision(options.hubRev) : null;
  if (revision) log(`hub: commit ${revision.commit}, built in ${revision.runtime.cwd}`);
  else log(options.build ? 'building the hub (npm run build)' : 'using the existing build');
  const fromDir = options.hubDir ? dirRuntime(options.hubDir) : null;
  const runtime = revision?.runtime ?? fromDir ?? (await prepareRuntime(options.build));
  if (runtime.note) log(runtime.note);
  const baseline = options.baseline ? await prepareRevision(options.baseline) : null;
  if (baseline) log(`baseline: the hub at ${baseline.commit}, built in ${baseline.runtime.cwd}`);
  const background = await backgroundBusy();
  log(`box busy before the run: ${background.toFixed(0)}% (other work on the machine skews every figure)`);
  const stores: BenchStore[] = [];
  const drop = async () => {
    if (options.keep) log(`kept databases and Redis prefixes ${stores.map((x) => x.redisPrefix).join(', ')}`);
    else await Promise.allSettled(stores.splice(0).map((x) => x.drop()));
  };
  dropStores = drop;
  const newStore = async () => {
    const store = await createStore();
    stores.push(store);
    return store;
  };
  const topo = topology(options.users, options.conversations);
  const hubStore = await newStore();
  const hub = hubKind('hub', runtime, hubStore, options);
  const base = baseline ? hubKind('baseline', baseline.runtime, await newStore(), options) : null;
  const s: Stack = { options, topo, kinds: [ceilingKind(hubStore, topo, options.pods), hub, ...(base ? [base] : [])] };
  const notes: string[] = runtime.note ? [runtime.note] : [];
  if (baseline) notes.push(`baseline = the hub at commit ${baseline.commit}, same load, its own database`);
  let steps: StepResult[] = [];
  let maxRate: MaxRateResult[] = [];
  let connections: ConnectionResult[] = [];
  let jobs: JobResult | null = null;
  let receipts: ReceiptResult[] = [];
  let output: OutputResult | null = null;
  let snapshot: SnapshotResult[] = [];
  let presence: PresenceResult | null = null;
  let slowConsumer: SlowConsumerResult[] = [];
  try {
    const running: Target[] = [];
    try {
      for (const kind of s.kinds) {
        const t = await kind.start();
        running.push(t);
        if (kind === hub || kind === base) {
          log(`seeding the ${t.name}: ${options.users} users and ${topo.pairs.length} conversations over HTTP`);
          t.seed = (kind as typeof hub).seed = await seedHub(t.pods[0]!.url, topo, t.store!.runId);
        }
      }
      if (needsMessageSockets(options)) ({ steps, maxRate, receipts, slowConsumer } = await messageScenarios(s, running));
    } finally {
      await Promise.all(running.map(stopTarget));
    }
    if (options.scenarios.includes('connections')) {
      log(`connection scenario: ${options.sockets} idle sockets per target`);
      connections = await connectionScenario(s);
    }
    if (options.scenarios.includes('snapshot')) {
      log(`snapshot scenario: ${options.snapshotConnects} connects per size, ${options.snapshotSizes.join(' and ')} conversations per user`);
      snapshot = await snapshotScenario(s);
    }
    if (options.scenarios.includes('jobs')) jobs = await jobScenario(hub, topo, options);
    if (options.scenarios.includes('output')) output = await outputScenario(hub, options);
    if (options.scenarios.includes('presence')) {
      const o = options;
      log(`presence scenario: ${o.presenceUsers} users x ${o.presencePeers} peers, ${o.presenceWaves} waves, grace ${o.presenceGraceMs} ms, ${o.pods} pod(s), its own Redis`);
      presence = await runPresence({
        runtime, env: hub.env, store: await newStore(), pods: o.pods, watchers: Math.floor(o.presenceUsers / 2), peers: o.presencePeers,
        bigPeers: o.presenceBigPeers, waves: o.presenceWaves, toggles: o.presenceToggles, graceMs: o.presenceGraceMs, log,
      });
    }
  } finally {
    await stopAll();
    await drop();
    dropStores = null;
  }
  const partial = {
    startedAt,
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    options,
    environment: {
      node: process.version, cpus: cpus().length, commit: revision?.commit ?? (options.hubDir ? `dir ${options.hubDir}` : gitCommit()), baselineCommit: baseline?.commit ?? null,
      runtime: runtime.mode, runtimeNote: runtime.note, totalMemGb: Math.round(totalmem() / 2 ** 30), backgroundBusyPct: background,
    },
    conversations: topo.pairs.length,
    steps,
    maxRate,
    connections,
    jobs,
    receipts,
    snapshot,
    output,
    presence,
    slowConsumer,
    notes,
  };
  return { ...partial, targets: checkTargets(partial) };
}

async function main(): Promise<void> {
  let options: BenchOptions | null;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    log(`${(err as Error).message} (see npm run bench -- --help)`);
    process.exit(2);
  }
  if (!options) return;
  let interrupted = false;
  process.on('SIGINT', () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log('interrupted: stopping what the bench started (Ctrl-C again to quit at once)');
    void stopAll()
      .then(() => dropStores?.())
      .finally(() => process.exit(130));
  });
  const report = await run(options);
  const dir = `${ROOT}bench/results`;
  mkdirSync(dir, { recursive: true });
  const file = `${dir}/${report.startedAt.replace(/[:.]/g, '-')}.json`;
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`\n${render(report)}\n\nfull results: ${file.slice(ROOT.length)}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    log(`bench failed: ${(err as Error)?.stack ?? String(err)}`);
    void stopAll()
      .then(() => dropStores?.())
      .finally(() => process.exit(1));
  },
);
