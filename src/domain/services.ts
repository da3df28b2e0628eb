import type { Config } from '../config.js';
import type { Sql } from '../db/client.js';
import type { RedisClient } from '../redis.js';
import { AuthService } from './auth.js';
import { ConversationExport } from './conversation-export.js';
import { ConversationService } from './conversations.js';
import { JobOutputStore } from './job-output.js';
import { JobStatusStore, type JobStatusStoreOptions } from './job-status.js';
import { JobWatchers } from './job-watchers.js';
import { JobService } from './jobs.js';
import { LoginAttempts } from './login-attempts.js';
import { MarkerService } from './markers.js';
import { MessageService } from './messages.js';
import { NoticeService } from './notices.js';
import { OfflineNotifyService } from './offline-notify.js';
import type { HubPublisher, JobQueue, JobStatusPublisher, NotifyScheduler, UserPresence } from './ports.js';
import { RateLimiter, SharedRateLimiter } from './rate-limiter.js';
import { redisTokenStore } from './redis-token-store.js';
import { SessionService } from './sessions.js';
import { UserService } from './users.js';

/** What the services log: a store that did not answer, where they fall back instead of failing. */
export interface ServiceLog {
  warn(fields: object, message: string): void;
}

/** What the job services need, in a hub and in a worker alike. */
export interface JobServiceDeps {
  sql: Sql;
  config: Pick<Config, 'EXPORT_DIR' | 'REDIS_PREFIX' | 'MAX_QUEUED_JOBS_PER_USER'>;
  /** Who watches which job (for notices); without it every job end brings a notice. */
  redis?: RedisClient;
  /** Where job changes go: the hub's Broadcaster, or a worker's Redis room emitter. */
  publisher: JobStatusPublisher;
  queue: JobQueue;
  /** Workers retry status writes through a Postgres restart; a hub answers within its request deadline. */
  jobStatus?: JobStatusStoreOptions;
}

export interface JobServices {
  jobs: JobService;
  jobStatus: JobStatusStore;
  /** A job's output: workers append (through workers/output-buffer.ts), watchers read. */
  jobOutput: JobOutputStore;
  conversationExport: ConversationExport;
}

/** The job services: built the same way by the hub (createServices) and by workers (workers/start.ts). */
export function createJobServices(deps: JobServiceDeps): JobServices {
  const watchers = deps.redis ? new JobWatchers(deps.redis, deps.config) : undefined;
  const jobStatus = new JobStatusStore(deps.sql, deps.publisher, deps.jobStatus, watchers);
  const jobOutput = new JobOutputStore(deps.sql, deps.publisher, { retryForMs: deps.jobStatus?.retryForMs ?? 0 });
  return {
    jobStatus,
    jobOutput,
    jobs: new JobService(deps.sql, deps.queue, jobStatus, jobOutput, watchers, deps.config.MAX_QUEUED_JOBS_PER_USER),
    conversationExport: new ConversationExport(deps.sql, deps.config.EXPORT_DIR),
  };
}

export interface ServiceDeps extends JobServiceDeps {
  config: Config;
  /** The hub's Broadcaster: messages, conversations, sessions and jobs. */
  publisher: HubPublisher;
  /** Login attempts and message rates are counted here, shared by every pod. */
  redis: RedisClient;
  log: ServiceLog;
  /** Set when NOTIFY_WEBHOOK_URL is: who is online, and where the pairs' notification jobs go. */
  offlineNotify?: { presence: UserPresence; scheduler: NotifyScheduler } | undefined;
}

export interface Services extends JobServices {
  auth: AuthService;
  sessions: SessionService;
  users: UserService;
  conversations: ConversationService;
  messages: MessageService;
  markers: MarkerService;
  notices: NoticeService;
  /** Offline notifications; null when NOTIFY_WEBHOOK_URL is unset. */
  offlineNotify: OfflineNotifyService | null;
  /** Stops the limiters' housekeeping timers. */
  close(): void;
}

/**
 * Every use case of a hub, built once per app: routes and socket handlers only translate to and
 * from these (`services.messages.send(caller, input)`), and the services store, then publish
 * through the ports the Broadcaster implements.
 */
export function createServices(deps: ServiceDeps): Services {
  const { sql, config, publisher, redis, log } = deps;
  const sessions = new SessionService(sql, config.SESSION_TTL_HOURS);
  const attempts = new LoginAttempts(
    redis,
    config.REDIS_PREFIX,
    { perAccountAndNetwork: config.LOGIN_RATE_LIMIT_PER_ACCOUNT, perAccount: config.LOGIN_RATE_LIMIT_PER_ACCOUNT_TOTAL },
    (err) => log.warn({ err: (err as Error).message }, 'login limiter unavailable; attempt let through'),
  );
  const messageLimiter = new SharedRateLimiter(
    redisTokenStore(redis, config, config.MESSAGE_RATE_LIMIT),
    new RateLimiter(config.MESSAGE_RATE_LIMIT),
    config.MESSAGE_RATE_LIMIT,
    (err) => log.warn({ err: err.message }, 'message rate limit: redis unavailable, counting this pod only'),
  );
  const conversations = new ConversationService(sql, publisher);
  const offlineNotify = deps.offlineNotify
    ? new OfflineNotifyService(sql, deps.offlineNotify.presence, deps.offlineNotify.scheduler, config.NOTIFY_DELAY_S * 1000, log)
    : null;
  return {
    ...createJobServices(deps),
    sessions,
    auth: new AuthService(sql, sessions, attempts, publisher),
    users: new UserService(sql),
    conversations,
    messages: new MessageService(sql, config, messageLimiter, conversations, publisher, undefined, offlineNotify ? (r) => offlineNotify.messageStored(r) : undefined),
    offlineNotify,
    markers: new MarkerService(sql, publisher),
    notices: new NoticeService(sql),
    close: () => messageLimiter.close(),
  };
}
