import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { dirname, join } from 'node:path';
import { pino, type LoggerOptions } from 'pino';
import { startWorkers } from '../workers/start.js';
import { buildApp } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './db/embedded.js';
import { runMigrations } from './db/migrate.js';
import { isStorageUnavailable } from './errors.js';
import { loggerOptions } from './logger.js';
import { closeRedis, createRedisClient, redisTarget, waitForRedis } from './redis.js';
import { installShutdown } from './shutdown.js';

/** Thrown for a missing service; its message is the one line printed before exiting. */
class DevSetupError extends Error {}

/**
 * `npm run dev`: one process with a hub and a worker, for trying the hub on one machine.
 * Without DATABASE_URL it brings its own Postgres (PGlite under PGLITE_DATA_DIR), so Node
 * and Redis are all it needs. (The contract's DATABASE_URL default still holds for
 * `npm start` and `npm run worker`.)
 */
async function main(): Promise<void> {
  const loaded = loadConfig();
  await requireRedis(loaded);
  const base = await withKeptCookieSecret(loaded);
  const embedded = process.env.DATABASE_URL ? null : await startEmbeddedPostgres(base.PGLITE_DATA_DIR);
  try {
    await serve(embedded ? Object.freeze({ ...base, DATABASE_URL: embedded.url }) : base, embedded);
  } catch (err) {
    // A port already taken, say: PGlite still flushes its files and lets go of its directory.
    await embedded?.close().catch(() => {});
    throw err;
  }
}

async function serve(config: Config, embedded: EmbeddedPostgres | null): Promise<void> {
  if (!embedded) await migrate(config);
  const app = await buildApp(config);
  const workers = await startWorkers(config, { log: pino(loggerOptions(config) as LoggerOptions).child({ process: 'worker' }) });
  // Workers first: their last status writes still reach the hub's sockets before it closes.
  installShutdown(app.log, async () => {
    await workers.close();
    await app.close();
    await embedded?.close();
  });
  await app.listen({ port: config.PORT, host: config.HOST });
  printBanner(config, embedded);
}

/**
 * Without COOKIE_SECRET every restart would sign cookies with a new random secret and log
 * everybody out: the first run generates one and keeps it next to the embedded data
 * (`data/dev-cookie-secret` by default), readable by its owner only. Never in production,
 * where loadConfig already refuses to start without COOKIE_SECRET.
 */
async function withKeptCookieSecret(config: Config): Promise<Config> {
  if (!config.cookieSecretGenerated || config.NODE_ENV === 'production') return config;
  const file = devCookieSecretFile(config);
  await mkdir(dirname(file), { recursive: true });
  try {
    // 'wx': two first runs at once both end up with the one secret written first.
    await writeFile(file, `${randomBytes(32).toString('base64url')}\n`, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const kept = (await readFile(file, 'utf8')).trim();
  if (kept.length < 32) throw new DevSetupError(`${file} holds no usable cookie secret: delete it to generate a new one`);
  return Object.freeze({ ...config, COOKIE_SECRET: kept });
}

function devCookieSecretFile(config: Pick<Config, 'PGLITE_DATA_DIR'>): string {
  return join(dirname(config.PGLITE_DATA_DIR), 'dev-cookie-secret');
}

async function requireRedis(config: Config): Promise<void> {
  const probe = createRedisClient({ ...redisTarget(config), name: 'inbox-dev-probe', maxRetriesPerRequest: 0 });
  probe.on('error', () => {}); // the outcome is reported once, below
  try {
    await waitForRedis(probe, 3000);
  } catch {
    const where = config.REDIS_CLUSTER_NODES ? 'the Redis Cluster in REDIS_CLUSTER_NODES' : `Redis at ${new URL(config.REDIS_URL).host}`;
    throw new DevSetupError(
      `cannot reach ${where}: start one with \`redis-server --save "" --appendonly no\` (or \`docker compose up -d redis\`), or set REDIS_URL`,
    );
  } finally {
    await closeRedis(probe);
  }
}

async function migrate(config: Config): Promise<void> {
  try {
    await runMigrations(config.DATABASE_URL);
  } catch (err) {
    if (!isStorageUnavailable(err)) throw err;
    const where = new URL(config.DATABASE_URL);
    throw new DevSetupError(
      `cannot reach Postgres at ${where.host}${where.pathname} (DATABASE_URL): start it, or unset DATABASE_URL to use the embedded one`,
    );
  }
}

function printBanner(config: Config, embedded: EmbeddedPostgres | null): void {
  const anyAddress = config.HOST === '0.0.0.0' || config.HOST === '::';
  const host = anyAddress ? 'localhost' : config.HOST;
  const database = embedded ? `embedded PGlite in ${embedded.dataDir} (set DATABASE_URL to use your own Postgres)` : 'DATABASE_URL';
  const lines = [`inbox hub and worker running: open http://${host}:${config.PORT}/`];
  // Outside production the hub trusts its own origin, so these work without ALLOWED_ORIGINS.
  if (anyAddress) for (const address of networkAddresses()) lines.push(`from another device: http://${address}:${config.PORT}/`);
  lines.push(`database: ${database}`);
  if (config.cookieSecretGenerated) lines.push(`sessions: signed with the secret kept in ${devCookieSecretFile(config)} (or set COOKIE_SECRET)`);
  process.stdout.write(`\n${lines.map((l) => `  ${l}\n`).join('')}\n`);
}

/** This machine's external IPv4 addresses, the ones a phone on the same network can open. */
function networkAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((i) => i !== undefined && i.family === 'IPv4' && !i.internal)
    .map((i) => i!.address);
}

main().catch((err: unknown) => {
  const known = err instanceof ConfigError || err instanceof DevSetupError;
  process.stderr.write(`${known ? (err as Error).message : `dev failed to start: ${(err as Error).message ?? String(err)}`}\n`);
  process.exit(1);
});
