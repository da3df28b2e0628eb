import type { BackoffOptions, KeepJobs } from 'bullmq';
import type { Sql } from 'postgres';
import { z } from 'zod';
import { isMember } from '../domain/conversations.js';
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

/** One job name: its data schema, its policy, and an optional access check on the owner. */
interface CatalogEntry {
  schema: z.ZodType;
  policy: JobPolicy;
  /** Runs at enqueue with validated data; throws `invalid_payload` when the owner may not run this job. */
  authorize?(sql: Sql, ownerId: number, data: never): Promise<void>;
}

const conversationExport = z.object({ conversation_id: idNumber() });

/**
 * A non-member gets `invalid_payload`, the same answer as for a conversation that does not
 * exist: "bad data" in the contract's terms, and it reveals nothing about others' conversations.
 */
async function assertExportAllowed(sql: Sql, ownerId: number, data: z.infer<typeof conversationExport>): Promise<void> {
  if (!(await isMember(sql, data.conversation_id, ownerId))) {
    throw invalidPayload('data.conversation_id: not a conversation you are a member of');
  }
}

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

/**
 * The one registry of job names: each with the schema of its data and its policy.
 * A name missing here cannot be enqueued; the worker refuses to boot without a processor for each.
 */
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
    authorize: assertExportAllowed,
  },
  'demo.steps': {
    schema: demoSteps,
    policy: {
      attempts: 3,
      backoff: { type: 'fixed', delay: 250 },
      // The longest legal run is 1000 steps of 60 s.
      timeoutMs: 17 * HOUR * 1000,
      removeOnComplete: { age: HOUR, count: 1000 },
      removeOnFail: { age: DAY, count: 1000 },
    },
  },
} as const satisfies Record<string, CatalogEntry>;

export type JobName = keyof typeof JOB_CATALOG;
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

/** The catalog's access check for this name, if it has one. */
export async function authorizeJob(sql: Sql, name: JobName, ownerId: number, data: unknown): Promise<void> {
  const entry: CatalogEntry = JOB_CATALOG[name];
  await entry.authorize?.(sql, ownerId, data as never);
}
