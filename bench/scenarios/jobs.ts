import { existsSync } from 'node:fs';
import { ROOT } from '../lib/stack.js';
import type { Percentiles } from '../lib/stats.js';

export interface JobResult {
  /** Why the scenario did not run, or null when it did. */
  skipped: string | null;
  jobs: number;
  watchers: number;
  updates: number;
  updatesPerS: number;
  latency: Percentiles;
  nonMonotonic: number;
  completed: number;
  watchErrors: Record<string, number>;
  workerCpuMs: number;
}

const REQUIRED = ['workers/main.ts', 'src/http/routes/jobs.ts'];

/** The job tracker is optional for the bench: without it the scenario says so and is skipped. */
export function jobTrackerMissing(): string | null {
  const missing = REQUIRED.filter((p) => !existsSync(`${ROOT}${p}`));
  return missing.length > 0 ? `the job tracker has not landed (missing ${missing.join(', ')})` : null;
}

const empty: Percentiles = { count: 0, p50: Number.NaN, p95: Number.NaN, p99: Number.NaN, max: Number.NaN, mean: Number.NaN };

export const skippedJobs = (reason: string): JobResult => ({
  skipped: reason, jobs: 0, watchers: 0, updates: 0, updatesPerS: 0, latency: empty, nonMonotonic: 0, completed: 0, watchErrors: {}, workerCpuMs: 0,
});
