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
import { stopAll } from './lib/services.js';
import { createStore, hubEnv, prepareRuntime, ROOT, startCeilingPods, startHubPods, type BenchStore, type Runtime } from './lib/stack.js';
import type { Target } from './lib/targets.js';
import { runConnections, type ConnectionResult } from './scenarios/connections.js';
import { jobTrackerMissing, skippedJobs, type JobResult } from './scenarios/jobs.js';
import { findMaxRate, type MaxRateResult } from './scenarios/max-rate.js';
import { connectTarget, runStep, type StepOptions, type StepResult } from './scenarios/messages.js';

const log = (line: string) => process.stderr.write(`${line}\n`);
/** Set while the run's database exists, so an interrupt can still drop it. */
let dropStore: (() => Promise<void>) | null = null;
const ACK_TIMEOUT_MS = 15_000;

interface Stack {
  options: BenchOptions;
  runtime: Runtime;
  store: BenchStore;
  env: Record<string, string>;
  topo: Topology;
}

const hubTarget = async (s: Stack, seed: Seeded): Promise<Target> => ({ name: 'hub', pods: await startHubPods(s.runtime, s.env, s.options.pods), seed });
const ceilingTarget = async (s: Stack): Promise<Target> => ({ name: 'ceiling', pods: await startCeilingPods(s.store, s.options.pods), seed: ceilingSeed(s.topo) });
const stopTarget = (t: Target) => Promise.all(t.pods.map((p) => p.stop()));

function describeStep(r: StepResult): string {
  const errors = Object.entries(r.ackErrors).map(([k, n]) => `${k}:${n}`).join(' ');
  return `  ${r.target.padEnd(7)} ${String(r.rate).padStart(6)}/s  sent ${r.achievedRate.toFixed(0)}/s  p50 ${r.latency.p50.toFixed(2)}  p99 ${r.latency.p99.toFixed(2)}  max ${r.latency.max.toFixed(1)} ms  lost ${r.lost}  dup ${r.duplicates}  gaps ${r.gaps}  cpu ${r.cpuMsPerMsg.toFixed(3)} ms/msg  box ${r.machineBusyPct.toFixed(0)}%${errors ? `  ack errors ${errors}` : ''}`;
}

/** Fixed-rate steps, alternating ceiling and hub per rate so both see the same box; then the max search. */
async function messageScenarios(s: Stack, hub: Target): Promise<{ steps: StepResult[]; maxRate: MaxRateResult[] }> {
  const o = s.options;
  const ceiling = await ceilingTarget(s);
  const pool = await new AgentPool(o.clientProcs).ready();
  const steps: StepResult[] = [];
  const maxRate: MaxRateResult[] = [];
  try {
    const targets = [ceiling, hub];
    for (const t of targets) await connectTarget(pool, t, s.topo);
    const base: StepOptions = { durationS: o.durationS, drainS: o.drainS, bodySize: o.bodySize, ackTimeoutMs: ACK_TIMEOUT_MS };
    if (o.warmupS > 0) {
      log(`warm-up: ${o.warmupS} s at ${o.rates[0]} msg/s per target`);
      for (const t of targets) await runStep(pool, t, s.topo, o.rates[0]!, { ...base, durationS: o.warmupS });
    }
    if (o.scenarios.includes('messages')) {
      for (const rate of o.rates) {
        for (const t of targets) {
          const r = await runStep(pool, t, s.topo, rate, base);
          log(describeStep(r));
          steps.push(r);
        }
      }
    }
    if (o.scenarios.includes('max')) {
      for (const t of targets) {
        log(`searching the highest sustained rate of the ${t.name}`);
        const known = steps.filter((r) => r.target === t.name);
        maxRate.push(await findMaxRate(pool, t, s.topo, known, { ...base, durationS: o.probeDurationS, p99LimitMs: o.p99LimitMs, maxProbes: o.maxProbes, log }));
      }
    }
    await pool.all(() => ({ type: 'disconnect', target: 'hub' }), 30_000);
    await pool.all(() => ({ type: 'disconnect', target: 'ceiling' }), 30_000);
  } finally {
    await pool.close();
    await stopTarget(ceiling);
  }
  return { steps, maxRate };
}

/** Each target freshly started, so its empty RSS is a real baseline. */
async function connectionScenario(s: Stack, seed: Seeded): Promise<ConnectionResult[]> {
  const out: ConnectionResult[] = [];
  for (const start of [() => ceilingTarget(s), () => hubTarget(s, seed)]) {
    const t = await start();
    try {
      out.push(await runConnections(t, s.topo, { sockets: s.options.sockets, socketProcs: s.options.socketProcs, log }));
    } finally {
      await stopTarget(t);
    }
  }
  return out;
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
  log(options.build ? 'building the hub (npm run build)' : 'using the existing build');
  const runtime = await prepareRuntime(options.build);
  if (runtime.note) log(runtime.note);
  const store = await createStore();
  if (!options.keep) dropStore = () => store.drop();
  log(`database and Redis prefix ${store.redisPrefix}`);
  const s: Stack = { options, runtime, store, env: hubEnv(store, randomBytes(32).toString('hex')), topo: topology(options.users, options.conversations) };
  const notes: string[] = runtime.note ? [runtime.note] : [];
  let steps: StepResult[] = [];
  let maxRate: MaxRateResult[] = [];
  let connections: ConnectionResult[] = [];
  let jobs: JobResult | null = null;
  try {
    const hub = await hubTarget(s, { users: [], conversationIds: [] });
    log(`seeding ${options.users} users and ${s.topo.pairs.length} conversations over HTTP`);
    hub.seed = await seedHub(hub.pods[0]!.url, s.topo, store.runId);
    try {
      if (options.scenarios.includes('messages') || options.scenarios.includes('max')) ({ steps, maxRate } = await messageScenarios(s, hub));
    } finally {
      await stopTarget(hub);
    }
    if (options.scenarios.includes('connections')) {
      log(`connection scenario: ${options.sockets} idle sockets per target`);
      connections = await connectionScenario(s, hub.seed);
    }
    if (options.scenarios.includes('jobs')) {
      const missing = jobTrackerMissing();
      jobs = skippedJobs(missing ?? 'not implemented yet');
      log(`jobs scenario skipped: ${jobs.skipped}`);
    }
  } finally {
    await stopAll();
    if (options.keep) log(`kept ${store.databaseUrl} and Redis prefix ${store.redisPrefix}`);
    else await store.drop();
    dropStore = null;
  }
  const partial = {
    startedAt,
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    options,
    environment: { node: process.version, cpus: cpus().length, commit: gitCommit(), runtime: runtime.mode, runtimeNote: runtime.note, totalMemGb: Math.round(totalmem() / 2 ** 30) },
    conversations: s.topo.pairs.length,
    steps,
    maxRate,
    connections,
    jobs,
    notes,
  };
  return { ...partial, targets: checkTargets(partial) };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (!options) return;
  let interrupted = false;
  process.on('SIGINT', () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log('interrupted: stopping what the bench started (Ctrl-C again to quit at once)');
    void stopAll()
      .then(() => dropStore?.())
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
      .then(() => dropStore?.())
      .finally(() => process.exit(1));
  },
);
