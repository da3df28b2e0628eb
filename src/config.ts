import { z } from 'zod';

const csvOrigins = z
  .string()
  .transform((raw) => raw.split(',').map((s) => s.trim()).filter(Boolean))
  .pipe(z.array(z.url().transform((u) => new URL(u).origin)).min(1, 'must list at least one origin'));

const urlWithScheme = (schemes: string[]) =>
  z.string().refine((raw) => {
    try {
      return schemes.includes(new URL(raw).protocol);
    } catch {
      return false;
    }
  }, `must be a ${schemes.map((s) => `${s}//`).join(' or ')} URL`);

const clusterNodes = z
  .string()
  .transform((raw) => raw.split(',').map((s) => s.trim()).filter(Boolean))
  .pipe(
    z
      .array(
        z.string().regex(/^[^:\s]+:\d{1,5}$/, 'must be a comma-separated list of host:port').transform((hp) => {
          const i = hp.lastIndexOf(':');
          return { host: hp.slice(0, i), port: Number(hp.slice(i + 1)) };
        }),
      )
      .min(1, 'must list at least one host:port'),
  );

const positiveInt = (max: number) => z.coerce.number().int().min(1).max(max);

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8000),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATABASE_URL: urlWithScheme(['postgres:', 'postgresql:']).default('postgres://postgres@127.0.0.1:5432/postgres'),
  DATABASE_POOL_SIZE: positiveInt(200).default(10),
  REDIS_URL: urlWithScheme(['redis:', 'rediss:']).default('redis://127.0.0.1:6379'),
  /** Set to use Redis Cluster (sharded pub/sub adapter, hash-tagged BullMQ keys) instead of REDIS_URL. */
  REDIS_CLUSTER_NODES: clusterNodes.optional(),
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'must be 1..64 characters of A-Z a-z 0-9 _ . : -')
    .default('inbox'),
  COOKIE_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  SESSION_TTL_HOURS: positiveInt(24 * 365).default(24 * 14),
  /**
   * How often each pod checks, in one query, that its sockets' sessions are still live, and
   * disconnects those that expired or were revoked in the database. At most 30 s, so such a
   * socket is gone within a minute; tests set it low.
   */
  SESSION_SWEEP_MS: z.coerce.number().int().min(100).max(30_000).default(30_000),
  ALLOWED_ORIGINS: csvOrigins.default(['http://localhost:8000', 'http://127.0.0.1:8000']),
  MAX_MESSAGE_LENGTH: positiveInt(1_000_000).default(4000),
  MESSAGE_RATE_LIMIT: positiveInt(1_000_000).default(20),
  /**
   * Which proxies may set X-Forwarded-For (Fastify's trustProxy): `false`, `true`, or a
   * comma-separated list of addresses/CIDRs. Per-IP limits depend on it.
   */
  TRUST_PROXY: z
    .string()
    .transform((v): boolean | string => (v === 'true' ? true : v === 'false' ? false : v))
    .default(false),
  /** Login attempts per client IP per minute, shared by all pods through Redis. */
  LOGIN_RATE_LIMIT_PER_IP: positiveInt(1_000_000).default(20),
  /**
   * Failed logins (and failed current-password checks) per account from one client network
   * (an IPv4 address or an IPv6 /64) per 15 minutes, shared by all pods through Redis.
   */
  LOGIN_RATE_LIMIT_PER_ACCOUNT: positiveInt(1_000_000).default(10),
  /** Failed logins per account from every network together per 15 minutes; default 10 x LOGIN_RATE_LIMIT_PER_ACCOUNT. */
  LOGIN_RATE_LIMIT_PER_ACCOUNT_TOTAL: positiveInt(100_000_000).optional(),
  /** New conversations one user may open per hour, shared by all pods through Redis (an existing pair is free). */
  CONVERSATION_RATE_LIMIT: positiveInt(1_000_000).default(30),
  /**
   * GET /metrics requires `Authorization: Bearer <token>`. A hub refuses to start without it
   * in production (checked by the metrics plugin: workers and producers serve no metrics).
   */
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /**
   * Comma-separated user ids of the operators who may open the Bull Board at /admin/queues.
   * Ids, not emails: emails are never verified, so an admin email nobody had registered yet
   * went to whoever registered it first.
   */
  ADMIN_USER_IDS: z
    .string()
    .transform((raw) => raw.split(',').map((s) => s.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^[1-9]\d{0,9}$/, 'must be a comma-separated list of user ids').transform(Number)))
    .default([]),
  /** The Bull Board may pause, retry, clean or edit jobs only when this is `true`; read-only otherwise. */
  ADMIN_BOARD_WRITE: z
    .enum(['true', 'false'], { error: 'must be true or false' })
    .default('false')
    .transform((v) => v === 'true'),
  /** Replaced by ADMIN_USER_IDS; refused at start so an upgrade cannot silently change who is an admin. */
  ADMIN_EMAILS: z.string().optional(),
  /**
   * Serve the old `/chat/<id>` namespaces. Off once no old frontend is left: every message then
   * skips the relay to other pods' legacy sockets (a Redis publish and a decode per pod).
   */
  LEGACY_CHAT: z
    .enum(['true', 'false'], { error: 'must be true or false' })
    .default('true')
    .transform((v) => v === 'true'),
  /** Live sockets one user may hold in all namespaces on all pods together (counted in Redis); more answer connect_error `rate_limited`. */
  MAX_SOCKETS_PER_USER: positiveInt(100_000).default(20),
  /**
   * How long a user's last socket may be gone before their peers see them offline: reloads and
   * reconnects inside it send nothing. At most 45 s, so a dead pod's users are offline within a
   * minute (see SOCKET_LEASE_MS).
   */
  PRESENCE_GRACE_MS: z.coerce.number().int().min(0).max(45_000).default(10_000),
  /**
   * How long a socket's lease in Redis (the socket cap and presence) outlives its pod's last
   * renewal; pods renew every third of it. A pod killed without a word has its users offline
   * within max(this, PRESENCE_GRACE_MS) plus about a second. Tests set it low.
   */
  SOCKET_LEASE_MS: z.coerce.number().int().min(300).max(45_000).default(45_000),
  /**
   * Unsent bytes the hub holds for one connection (its own buffers, not the kernel's) before it
   * treats it as a slow consumer: typing and presence dropped, job and marker events coalesced,
   * messages held back until it drains, then one `resync` (src/realtime/slow-consumer.ts).
   */
  SLOW_CONSUMER_BYTES: z.coerce.number().int().min(4096).max(1024 * 1024 * 1024).default(1_048_576),
  WORKER_CONCURRENCY: positiveInt(1000).default(4),
  /** BullMQ job lock and stalled-check interval: a dead worker's job runs again within about twice this. */
  JOB_LOCK_MS: z.coerce.number().int().min(500).max(600_000).default(30_000),
  EXPORT_DIR: z.string().min(1).default('./data/exports'),
  /** Jobs of one owner running at once over every worker; more wait (held back, others' jobs go first). */
  MAX_ACTIVE_JOBS_PER_USER: positiveInt(1000).default(2),
  /** Jobs of one owner waiting or delayed; beyond it POST /api/jobs (and the producer) answers 429 `rate_limited`. */
  MAX_QUEUED_JOBS_PER_USER: positiveInt(1_000_000).default(20),
  /** Where offline notifications are POSTed; unset turns them off. */
  NOTIFY_WEBHOOK_URL: urlWithScheme(['http:', 'https:']).optional(),
  /** HMAC-SHA256 key of the X-Inbox-Signature header; required with NOTIFY_WEBHOOK_URL. */
  NOTIFY_WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Seconds a message stays unread, with its recipient offline, before it is notified. */
  NOTIFY_DELAY_S: z.coerce.number().int().min(1).max(7 * 24 * 3600).default(120),
  /** `npm run dev` only: where the embedded Postgres (PGlite) keeps its data when DATABASE_URL is unset. */
  PGLITE_DATA_DIR: z.string().min(1).default('./data/pglite'),
});

type Env = z.infer<typeof envSchema>;

/** The hub's validated, frozen configuration; derived from the schema, never written twice. */
export type Config = Readonly<
  Omit<Env, 'COOKIE_SECRET' | 'LOGIN_RATE_LIMIT_PER_ACCOUNT_TOTAL'> & {
    COOKIE_SECRET: string;
    cookieSecretGenerated: boolean;
    LOGIN_RATE_LIMIT_PER_ACCOUNT_TOTAL: number;
  }
>;

/** Thrown by loadConfig; its message is the one line printed before exiting. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads and validates every variable the processes use; throws ConfigError naming the first bad one. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(withoutEmptyValues(env));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`Invalid configuration: ${issue.path.join('.')}: ${issue.message}`);
  }
  const data = parsed.data;
  if (!data.COOKIE_SECRET && data.NODE_ENV === 'production') {
    throw new ConfigError('Invalid configuration: COOKIE_SECRET: required when NODE_ENV=production');
  }
  if (data.ADMIN_EMAILS !== undefined) {
    throw new ConfigError('Invalid configuration: ADMIN_EMAILS: no longer supported (emails are not verified); list admin user ids in ADMIN_USER_IDS');
  }
  if (data.NOTIFY_WEBHOOK_URL && !data.NOTIFY_WEBHOOK_SECRET) {
    throw new ConfigError('Invalid configuration: NOTIFY_WEBHOOK_SECRET: required when NOTIFY_WEBHOOK_URL is set');
  }
  const generated = !data.COOKIE_SECRET;
  const secret = data.COOKIE_SECRET ?? randomSecret();
  const accountTotal = data.LOGIN_RATE_LIMIT_PER_ACCOUNT_TOTAL ?? 10 * data.LOGIN_RATE_LIMIT_PER_ACCOUNT;
  return Object.freeze({ ...data, COOKIE_SECRET: secret, cookieSecretGenerated: generated, LOGIN_RATE_LIMIT_PER_ACCOUNT_TOTAL: accountTotal });
}

/** An empty variable (`PORT=`) means "use the default", as in most dotenv setups. */
function withoutEmptyValues(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''));
}

function randomSecret(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url');
}
