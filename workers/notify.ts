import { createHmac } from 'node:crypto';
import { DelayedError, Worker, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { Config } from '../src/config.js';
import type { OfflineNotifyService } from '../src/domain/offline-notify.js';
import { NOTIFY_QUEUE, type NotifyEnvelope } from '../src/queue/notify-queue.js';
import type { RedisClient } from '../src/redis.js';
import { bullPrefix } from '../src/redis-keys.js';

/** One POST gets this long to answer (headers and status); then it counts as failed and is retried. */
export const WEBHOOK_TIMEOUT_MS = 5_000;
/** POSTs in flight at once per worker process: they only wait on the receiver. */
const NOTIFY_CONCURRENCY = 16;

/** `sha256=<hex HMAC-SHA256 of the raw body>`, the X-Inbox-Signature header. */
export const signBody = (secret: string, body: string) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

type NotifyJob = Job<NotifyEnvelope, unknown, 'notify'>;

export interface NotifyWorkerDeps {
  config: Pick<Config, 'REDIS_PREFIX' | 'NOTIFY_WEBHOOK_URL' | 'NOTIFY_WEBHOOK_SECRET' | 'JOB_LOCK_MS'>;
  redis: RedisClient;
  notify: OfflineNotifyService;
  log: Logger;
}

/**
 * Runs the offline notification jobs (NOTIFY_WEBHOOK_URL set). Each job is one (user,
 * conversation): not due yet -> back to the delayed set until it is; online or nothing unread
 * -> done, nothing sent; otherwise the batch stored by the service is POSTed, signed, and marked
 * sent once the receiver answers 2xx. A non-2xx, a 5 s timeout or a worker killed mid-POST
 * leaves the batch open, and the next try (BullMQ's backoff, or the stalled-job check after a
 * kill) POSTs the same stored body again.
 */
export function startNotifyWorker(deps: NotifyWorkerDeps): Worker<NotifyEnvelope, unknown, 'notify'> {
  const { config, log } = deps;
  const url = config.NOTIFY_WEBHOOK_URL!;
  const secret = config.NOTIFY_WEBHOOK_SECRET!;
  const worker = new Worker<NotifyEnvelope, unknown, 'notify'>(
    NOTIFY_QUEUE,
    async (job: NotifyJob, token?: string) => {
      const { user_id: userId, conversation_id: conversationId } = job.data;
      const step = await deps.notify.next(userId, conversationId);
      if (step.kind === 'none') return step.why;
      if (step.kind === 'wait') {
        await job.moveToDelayed(step.until, token);
        throw new DelayedError();
      }
      await post(url, secret, step.batch.body, step.batch.id);
      await deps.notify.sent(step.batch);
      log.info({ batch: step.batch.id, user: userId, conversation: conversationId, attempt: job.attemptsMade + 1 }, 'offline notification accepted');
      return 'sent';
    },
    {
      connection: deps.redis,
      prefix: bullPrefix(config),
      concurrency: NOTIFY_CONCURRENCY,
      lockDuration: config.JOB_LOCK_MS,
      stalledInterval: config.JOB_LOCK_MS,
      autorun: false,
    },
  );
  worker.on('error', (err) => log.warn({ err: err.message }, 'notify worker error'));
  worker.on('failed', (job, err) => {
    // The URL stays out of the log: it may carry a token in its query.
    log.warn({ user: job?.data.user_id, conversation: job?.data.conversation_id, attempt: job?.attemptsMade, err: err.message }, 'offline notification not accepted');
  });
  // The pair's job is gone from Redis now: messages that came while it ran start the next batch.
  worker.on('completed', (job) => {
    deps.notify.followUp(job.data.user_id, job.data.conversation_id).catch((err: unknown) => log.warn({ err: (err as Error).message }, 'offline notification: follow-up failed'));
  });
  return worker;
}

async function post(url: string, secret: string, body: string, batchId: number): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-inbox-signature': signBody(secret, body),
      // The same on every try of one batch: a receiver that saw it accepted already may drop it.
      'x-inbox-batch-id': String(batchId),
    },
    body,
    redirect: 'manual',
    signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
  });
  // The body is not read (nor kept): only the status counts.
  await res.body?.cancel().catch(() => {});
  if (res.status < 200 || res.status > 299) throw new Error(`the receiver answered ${res.status}`);
}
