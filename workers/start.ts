import { Worker } from 'bullmq';
import { pino, type Logger, type LoggerOptions } from 'pino';
import type { Config } from '../src/config.js';
import { createDb, type DbHandle } from '../src/db/client.js';
import { createJobServices, type JobServices } from '../src/domain/services.js';
import { loggerOptions } from '../src/logger.js';
import type { JobName } from '../src/queue/catalog.js';
import { CANCEL_REASON } from '../src/queue/cancel.js';
import { bullJobQueue, createJobsQueue, JOBS_QUEUE, type JobEnvelope } from '../src/queue/queue.js';
import { createRoomEmitter } from '../src/realtime/room-emitter.js';
import { createRedisClient, redisTarget, waitForRedis, type RedisClient } from '../src/redis.js';
import { bullPrefix } from '../src/redis-keys.js';
import { OfflineNotifyService } from '../src/domain/offline-notify.js';
import { bullNotifyScheduler, createNotifyQueue, type NotifyQueue } from '../src/queue/notify-queue.js';
import { socketLeasePresence } from '../src/realtime/user-presence.js';
import { listenForCancels } from './cancel.js';
import { startNotifyWorker } from './notify.js';
import { reportOutcomes } from './outcomes.js';
import { ownerSlots } from './owner-slots.js';
import { assertOneProcessorPerJob, type Processor } from './processor.js';
import { PROCESSORS } from './processors/index.js';
import { startReconciler } from './reconcile.js';
import { createBullProcessor, type RunDeps } from './run-job.js';

/**
 * How long a worker keeps retrying a status or progress write while Postgres is unreachable
 * (a restart, a failover) before the attempt fails: the job waits and then goes on from where it was.
 */
export const STATUS_RETRY_MS = 30_000;

export interface StartWorkersOptions {
  log?: Logger;
  /** Defaults to every processor in workers/processors. */
  processors?: readonly Processor[];
}

export interface RunningWorkers {
  /** Stops taking jobs, waits for running ones and their stored outcomes, then closes connections. */
  close(): Promise<void>;
}

/**
 * Runs every registered processor with WORKER_CONCURRENCY, for `npm run worker` and `npm run dev`.
 * Refuses to start unless the processors match the job catalog one to one.
 */
export async function startWorkers(config: Config, options: StartWorkersOptions = {}): Promise<RunningWorkers> {
  const processors = options.processors ?? PROCESSORS;
  assertOneProcessorPerJob(processors);
  const log = options.log ?? pino(loggerOptions(config) as LoggerOptions);
  const db = await openDatabase(config);
  const redis = await openRedis(config).catch(async (err: unknown) => {
    await db.close();
    throw err;
  });
  const queue = createJobsQueue(config, redis);
  queue.on('error', (err) => log.warn({ err: err.message }, 'worker queue error'));
  const services = workerServices(db, redis, queue, config, log);
  const running = new Set<string>();
  const slots = ownerSlots({ redis, queue, config, log });
  const worker = createWorker(config, { processors: new Map(processors.map((p) => [p.name, p])), services, redis, config, log, running, slots });
  const outcomes = reportOutcomes(worker, { store: services.jobStatus, redis, config, log });
  const cancels = await listenForCancels(config, (jobId) => void worker.cancelJob(jobId, CANCEL_REASON), log);
  void worker.run().catch((err: unknown) => log.error({ err }, 'worker stopped'));
  await worker.waitUntilReady();
  const notifyQueue = config.NOTIFY_WEBHOOK_URL ? createNotifyQueue(config, redis) : null;
  const notifier = notifyQueue ? startNotifyWorker({ config, redis, log, notify: offlineNotifyService(db, redis, notifyQueue, config, log) }) : null;
  if (notifier) {
    void notifier.run().catch((err: unknown) => log.error({ err }, 'notify worker stopped'));
    await notifier.waitUntilReady();
  }
  const reconciler = startReconciler({ config, redis, queue, services, log, running: () => running });
  return {
    close: async () => {
      await Promise.all([worker.close(), notifier?.close()]);
      slots.close();
      await notifyQueue?.close();
      await outcomes.flush();
      await reconciler.close();
      await cancels.close();
      await queue.close();
      await redis.quit().catch(() => redis.disconnect());
      await db.close();
    },
  };
}

/**
 * The job services, built as a hub builds them (src/domain/services.ts), publishing through
 * the Redis room emitter: every change is stored, then emitted as `job:status` into
 * `job_<id>` of /inbox through the adapter protocol, so a watcher on any hub pod sees it.
 */
function workerServices(db: DbHandle, redis: RedisClient, queue: ReturnType<typeof createJobsQueue>, config: Config, log: Logger): JobServices {
  return createJobServices({
    sql: db.sql,
    config,
    redis,
    publisher: createRoomEmitter(redis, config),
    queue: bullJobQueue(queue, redis, config),
    jobStatus: {
      retryForMs: STATUS_RETRY_MS,
      onRetry: (jobId, err, attempt) => log.warn({ job: jobId, attempt, err: (err as Error).message }, 'job status write: Postgres unreachable, retrying'),
    },
  });
}

/** The offline notification service as a hub builds it, reading presence from the socket leases. */
function offlineNotifyService(db: DbHandle, redis: RedisClient, queue: NotifyQueue, config: Config, log: Logger): OfflineNotifyService {
  return new OfflineNotifyService(db.sql, socketLeasePresence(redis, config), bullNotifyScheduler(queue), config.NOTIFY_DELAY_S * 1000, log);
}

/** Created stopped: it runs once the cancel subscription is live, so a running job can always be reached. */
function createWorker(config: Config, deps: RunDeps): Worker<JobEnvelope, unknown, JobName> {
  const worker = new Worker<JobEnvelope, unknown, JobName>(JOBS_QUEUE, createBullProcessor(deps), {
    connection: deps.redis,
    prefix: bullPrefix(config),
    concurrency: config.WORKER_CONCURRENCY,
    // A dead worker's lock expires after this, and live workers look for such jobs as often.
    lockDuration: config.JOB_LOCK_MS,
    stalledInterval: config.JOB_LOCK_MS,
    autorun: false,
  });
  worker.on('error', (err) => deps.log.warn({ err: err.message }, 'worker error'));
  return worker;
}

async function openDatabase(config: Config): Promise<DbHandle> {
  // Every concurrent job may hold a connection, plus one for outcomes stored from events.
  const handle = createDb({ url: config.DATABASE_URL, max: config.WORKER_CONCURRENCY + 1 });
  try {
    await handle.ping();
    return handle;
  } catch (err) {
    await handle.close();
    throw new Error(`DATABASE_URL: cannot connect to Postgres (${(err as { code?: string }).code ?? (err as Error).message})`);
  }
}

/** BullMQ's workers block on Redis, so their connection retries forever (`maxRetriesPerRequest: null`). */
async function openRedis(config: Config): Promise<RedisClient> {
  const redis = createRedisClient({ ...redisTarget(config), name: 'worker', maxRetriesPerRequest: null });
  try {
    await waitForRedis(redis);
    return redis;
  } catch (err) {
    redis.disconnect();
    const where = config.REDIS_CLUSTER_NODES ? 'REDIS_CLUSTER_NODES' : 'REDIS_URL';
    throw new Error(`${where}: ${(err as Error).message}`);
  }
}
