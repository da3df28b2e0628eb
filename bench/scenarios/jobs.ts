import { existsSync } from 'node:fs';
import type { ConnectResult, JobSamples } from '../client/protocol.js';
import { AgentPool } from '../client/pool.js';
import { sumCpuMs } from '../lib/proc.js';
import type { Topology } from '../lib/seed.js';
import { sleep, type Service } from '../lib/services.js';
import { ROOT } from '../lib/stack.js';
import { addCounts, percentiles, type Percentiles } from '../lib/stats.js';
import { pidsOf, socketSpec, type Target } from '../lib/targets.js';

export interface JobResult {
  /** Why the scenario did not run, or null when it did. */
  skipped: string | null;
  jobs: number;
  watchers: number;
  stepMs: number;
  steps: number;
  /** Progress updates the worker made per second, over all jobs (before fan-out to watchers). */
  updatesPerS: number;
  /** Progress `job:status` events received over all watchers, and how many were made after each watch began. */
  received: number;
  expected: number;
  latency: Percentiles;
  nonMonotonic: number;
  completed: number;
  watchErrors: Record<string, number>;
  workerCpuMs: number;
  hubCpuMs: number;
}

export interface JobOptions {
  jobs: number;
  updatesPerS: number;
  durationS: number;
  watchersPerJob: number;
  log(line: string): void;
}

const REQUIRED = ['workers/main.ts', 'src/http/routes/jobs.ts'];

/** The job tracker is optional for the bench: without it the scenario says so and is skipped. */
export function jobTrackerMissing(): string | null {
  const missing = REQUIRED.filter((p) => !existsSync(`${ROOT}${p}`));
  return missing.length > 0 ? `the job tracker has not landed (missing ${missing.join(', ')})` : null;
}

const empty: Percentiles = { count: 0, p50: Number.NaN, p95: Number.NaN, p99: Number.NaN, max: Number.NaN, mean: Number.NaN };

export const skippedJobs = (reason: string): JobResult => ({
  skipped: reason, jobs: 0, watchers: 0, stepMs: 0, steps: 0, updatesPerS: 0, received: 0, expected: 0, latency: empty,
  nonMonotonic: 0, completed: 0, watchErrors: {}, workerCpuMs: 0, hubCpuMs: 0,
});

async function enqueue(hubUrl: string, cookie: string, steps: number, stepMs: number): Promise<string> {
  const res = await fetch(`${hubUrl}/api/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie, 'sec-fetch-site': 'same-origin' },
    body: JSON.stringify({ name: 'demo.steps', data: { steps, step_ms: stepMs } }),
    signal: AbortSignal.timeout(10_000),
  });
  if (res.status !== 202) throw new Error(`POST /api/jobs: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { job: { job_id: string } }).job.job_id;
}

/**
 * `demo.steps` jobs run by a real worker process, each watched by its owner's sockets. The
 * latency is receipt minus the job's stored `updated_at` (clock_timestamp() of the worker's
 * write, ms resolution): the store, the Redis publish, the hub's relay and the client.
 * Jobs start one step after they are enqueued, so the watches are in place before the first update.
 */
export async function runJobs(hub: Target, worker: Service, topo: Topology, o: JobOptions): Promise<JobResult> {
  const stepMs = Math.max(1, Math.round((1000 * o.jobs) / o.updatesPerS));
  const steps = Math.min(1000, Math.max(1, Math.round((o.durationS * 1000) / stepMs)));
  const owners = Array.from({ length: o.jobs }, (_, j) => j % topo.users);
  const pool = await new AgentPool(1).ready();
  try {
    const connected = await pool.agents[0]!.call<ConnectResult>(
      {
        type: 'connect',
        target: hub.name,
        seqStride: 1,
        sockets: owners.flatMap((u) => Array.from({ length: o.watchersPerJob }, () => socketSpec(hub, topo, u, u, false))),
        concurrency: 32,
        timeoutMs: 20_000,
      },
      60_000,
    );
    if (connected.failed > 0) throw new Error(`job watchers: ${connected.failed} sockets failed to connect ${JSON.stringify(connected.errors)}`);
    const cpu0 = { worker: sumCpuMs([worker.pid]), hub: sumCpuMs(pidsOf(hub)) };
    const jobIds = await Promise.all(owners.map((u) => enqueue(hub.pods[0]!.url, hub.seed.users[u]!.cookie, steps, stepMs)));
    const watches = jobIds.flatMap((jobId, j) => Array.from({ length: o.watchersPerJob }, (_, w) => ({ socket: j * o.watchersPerJob + w, jobIds: [jobId] })));
    const watch = await pool.agents[0]!.call<{ stepsBefore: number }>({ type: 'watch-jobs', target: hub.name, watches, timeoutMs: 10_000 }, 60_000);
    o.log(`  ${o.jobs} jobs x ${steps} steps of ${stepMs} ms, ${o.watchersPerJob} watchers each`);
    const deadline = Date.now() + (steps * stepMs + 30_000);
    let samples: JobSamples | null = null;
    // Bounded: waits for every watcher to see `completed`, or for the deadline.
    while (Date.now() < deadline) {
      await sleep(500);
      const peek = await pool.agents[0]!.call<{ completed: number }>({ type: 'job-progress', target: hub.name }, 10_000);
      if (peek.completed >= watches.length) break;
    }
    samples = await pool.agents[0]!.call<JobSamples>({ type: 'collect-jobs', target: hub.name }, 30_000);
    return {
      skipped: null,
      jobs: o.jobs,
      watchers: watches.length,
      stepMs,
      steps,
      updatesPerS: (1000 * o.jobs) / stepMs,
      received: samples.updates,
      expected: watches.length * steps - watch.stepsBefore,
      latency: percentiles([samples.latencyMs]),
      nonMonotonic: samples.nonMonotonic,
      completed: samples.completed,
      watchErrors: addCounts({}, samples.watchErrors),
      workerCpuMs: sumCpuMs([worker.pid]) - cpu0.worker,
      hubCpuMs: sumCpuMs(pidsOf(hub)) - cpu0.hub,
    };
  } finally {
    await pool.close();
  }
}
