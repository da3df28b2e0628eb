import type { Logger } from 'pino';
import type { Config } from '../src/config.js';
import type { JobServices } from '../src/domain/services.js';
import { JOB_NAMES, type JobData, type JobName } from '../src/queue/catalog.js';

/** What a processor sees of its job: plain data, never a BullMQ object, so processors stay transport-free. */
export interface ProcessorJob<D = unknown> {
  id: string;
  name: JobName;
  /** Validated against the catalog's schema. */
  data: D;
  ownerId: number;
  /** Attempts that ended before this one. */
  attemptsMade: number;
}

export interface ProcessorContext {
  /** Aborted when the owner cancels or the job's time limit passes; hand it to anything that waits. */
  signal: AbortSignal;
  /** Stores, then publishes, progress (0..100) and a short status text such as "step 3/10". */
  progress(percent: number, statusText?: string | null): Promise<void>;
  /**
   * Appends text to the job's output (log lines, tokens): stored in Postgres with the next
   * offsets and emitted as `job:output`, batched (workers/output-buffer.ts). Resolves at once
   * unless much is pending; ignored once the attempt is aborted.
   */
  output(text: string): Promise<void>;
  /**
   * What a job may read or enqueue: the job services a hub has too, never the database itself.
   * Its own changes go through `progress` (the job status store stays the run's).
   */
  services: Omit<JobServices, 'jobStatus'>;
  config: Config;
  log: Logger;
}

/** One job name's work: `(job, ctx) => result`; throw `UnrecoverableError` for failures a retry cannot fix. */
export interface Processor<N extends JobName = JobName> {
  name: N;
  run(job: ProcessorJob<JobData<N>>, ctx: ProcessorContext): Promise<unknown>;
}

export function defineProcessor<N extends JobName>(
  name: N,
  run: (job: ProcessorJob<JobData<N>>, ctx: ProcessorContext) => Promise<unknown>,
): Processor<N> {
  return { name, run };
}

/** Fails boot, in one line, unless every catalog name has exactly one processor and no processor is unlisted. */
export function assertOneProcessorPerJob(processors: readonly Processor[]): void {
  const counts = new Map<string, number>();
  for (const p of processors) counts.set(p.name, (counts.get(p.name) ?? 0) + 1);
  const unknown = [...counts.keys()].filter((name) => !(JOB_NAMES as string[]).includes(name));
  const missing = JOB_NAMES.filter((name) => !counts.has(name));
  const doubled = [...counts].filter(([, n]) => n > 1).map(([name]) => name);
  const problems = [
    ...missing.map((n) => `no processor for "${n}"`),
    ...doubled.map((n) => `more than one processor for "${n}"`),
    ...unknown.map((n) => `processor for "${n}", which is not in the job catalog`),
  ];
  if (problems.length > 0) throw new Error(`job catalog and processors disagree: ${problems.join('; ')}`);
}
