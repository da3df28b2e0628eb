import type { BackoffOptions, KeepJobs } from 'bullmq';
import { z } from 'zod';
import { invalidPayload } from '../errors.js';
import { idNumber } from '../schemas/common.js';

/** How BullMQ treats one job name: retries, their spacing, a time limit, and how long finished jobs stay in Redis. */
export interface JobPolicy {
  attempts: number;
  backoff: BackoffOptions;
  /** Each attempt is aborted (and counts as failed) after this long. */
  timeoutMs: number;
  /** Bounded, so Redis never grows with history; Postgres keeps every job's snapshot. */
  removeOnComplete: KeepJobs;
  removeOnFail: KeepJobs;
}

const HOUR = 3600;
const DAY = 24 * HOUR;

/** One job name: its data schema, its policy, and what the owner must be allowed to touch. */
interface CatalogEntry {
  schema: z.ZodType;
  policy: JobPolicy;
  /**
   * The data field naming a conversation the owner must be a member of. Checked at enqueue by
   * the job service (src/domain/jobs.ts), which owns membership; the catalog only says where to look.
   */
  memberOf?: string;
}

const conversationExport = z.object({ conversation_id: idNumber() });

const demoSteps = z
  .object({
    steps: z.number().int().min(1).max(1000),
    step_ms: z.number().int().min(0).max(60_000),
    fail_at_step: z.number().int().min(1).optional(),
  })
  .refine((d) => d.fail_at_step === undefined || d.fail_at_step <= d.steps, {
    path: ['fail_at_step'],
    message: 'must not be greater than steps',
  });

/** A stand-in for streamed model output: one word per token, `token_ms` apart. */
const demoStream = z.object({
  tokens: z.number().int().min(1).max(5000),
  token_ms: z.number().int().min(0).max(1000),
});

/**
 * The one registry of job names: each with the schema of its data and its policy.
 * A name missing here cannot be enqueued; the worker refuses to boot without a processor for each.
 */
/** The diagnostic jobs retry quickly and are kept briefly; only their longest run differs. */
function demoPolicy(timeoutMs: number) {
  return {
    attempts: 3,
    backoff: { type: 'fixed', delay: 250 },
    timeoutMs,
    removeOnComplete: { age: HOUR, count: 1000 },
    removeOnFail: { age: DAY, count: 1000 },
  } as const;
}

export const JOB_CATALOG = {
  'conversation.export': {
    schema: conversationExport,
    policy: {
      attempts: 3,
      backoff: { type: 'exponential', delay: 2000 },
      timeoutMs: 30 * 60_000,
      removeOnComplete: { age: DAY, count: 1000 },
      removeOnFail: { age: 7 * DAY, count: 5000 },
    },
    memberOf: 'conversation_id',
  },
  'demo.steps': {
    schema: demoSteps,
    // The longest legal run is 1000 steps of 60 s.
    policy: demoPolicy(17 * HOUR * 1000),
  },
  'demo.stream': {
    schema: demoStream,
    // The longest legal run is 5000 tokens of 1 s.
    policy: demoPolicy(2 * HOUR * 1000),
  },
} as const satisfies Record<string, CatalogEntry>;

export type JobName = keyof typeof JOB_CATALOG;

/** One validated job on its way to the queue: its Postgres row's id, its name, owner and data, and when it may start. */
export interface QueuedJob {
  id: string;
  name: JobName;
  ownerId: number;
  data: unknown;
  delay?: number | undefined;
  priority?: number | undefined;
}
export type JobData<N extends JobName> = z.infer<(typeof JOB_CATALOG)[N]['schema']>;

export const JOB_NAMES = Object.keys(JOB_CATALOG) as JobName[];

export function isJobName(name: string): name is JobName {
  return Object.hasOwn(JOB_CATALOG, name);
}

export function policyOf(name: JobName): JobPolicy {
  return JOB_CATALOG[name].policy;
}

/** Validates a name and its data against the catalog; `invalid_payload` says what is wrong. */
export function parseJobInput(name: string, data: unknown): { name: JobName; data: unknown } {
  if (!isJobName(name)) throw invalidPayload(`name: unknown job name "${name}" (known: ${JOB_NAMES.join(', ')})`);
  const parsed = JOB_CATALOG[name].schema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? `.${issue.path.join('.')}` : '';
    throw invalidPayload(`data${where}: ${issue?.message ?? 'is invalid'}`);
  }
  return { name, data: parsed.data };
}

/** The data field naming the conversation an owner of this job must be in, if any. */
export function memberFieldOf(name: JobName): string | undefined {
  const entry: CatalogEntry = JOB_CATALOG[name];
  return entry.memberOf;
}
