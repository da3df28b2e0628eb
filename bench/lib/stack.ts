import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { createDb } from '../../src/db/client.js';
import { runMigrations } from '../../src/db/migrate.js';
import { createRedis } from '../../src/redis.js';
import { freePort, startService, type Service } from './services.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ADMIN_URL = process.env.BENCH_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** How the hub and the worker are run: compiled JS as in production, or tsx when the build failed. */
export interface Runtime {
  mode: 'compiled' | 'tsx';
  hub: string[];
  worker: string[];
  note: string | null;
}

/** `npm run build`, then `node dist/...`; a failing build (others' work in progress) falls back to tsx. */
export async function prepareRuntime(build: boolean): Promise<Runtime> {
  const compiled: Runtime = { mode: 'compiled', hub: ['dist/src/server.js'], worker: ['dist/workers/main.js'], note: null };
  if (!build) {
    if (existsSync(`${ROOT}dist/src/server.js`)) return compiled;
    return { ...tsxRuntime(), note: '--no-build and no dist/: ran the hub with tsx' };
  }
  const failure = await new Promise<string | null>((resolve) => {
    execFile('npm', ['run', 'build'], { cwd: ROOT, timeout: 300_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      resolve(err ? `${stdout}${stderr}`.trim().split('\n').slice(-8).join('\n') : null),
    );
  });
  if (failure === null) return compiled;
  return { ...tsxRuntime(), note: `npm run build failed, ran the hub with tsx instead:\n${failure}` };
}

const tsxRuntime = (): Runtime => ({
  mode: 'tsx',
  hub: ['--import', 'tsx', 'src/server.ts'],
  worker: ['--import', 'tsx', 'workers/main.ts'],
  note: null,
});

/** The run's own database (migrated) and Redis prefix; `drop()` removes both. */
export interface BenchStore {
  runId: string;
  databaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
  drop(): Promise<void>;
}

export async function createStore(): Promise<BenchStore> {
  const runId = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const dbName = `inbox_bench_${runId}`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${dbName}"`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${dbName}`;
  const handle = createDb({ url: url.toString(), max: 2 });
  try {
    await runMigrations(handle);
  } finally {
    await handle.close();
  }
  const redisPrefix = `inbox-bench-${runId}`;
  return {
    runId,
    databaseUrl: url.toString(),
    redisUrl: REDIS_URL,
    redisPrefix,
    drop: async () => {
      await admin.unsafe(`drop database if exists "${dbName}" with (force)`);
      await admin.end();
      await deleteKeys(redisPrefix);
    },
  };
}

async function deleteKeys(prefix: string): Promise<void> {
  const redis = createRedis({ url: REDIS_URL, name: 'bench-teardown' });
  let cursor = '0';
  // Bounded: a prefix holds at most a few thousand keys after a run.
  for (let i = 0; i < 10_000; i++) {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.unlink(...keys);
    cursor = next;
    if (cursor === '0') break;
  }
  await redis.quit();
}

/** The environment every hub pod and worker of the run shares. */
export function hubEnv(store: BenchStore, cookieSecret: string): Record<string, string> {
  return {
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    HOST: '127.0.0.1',
    DATABASE_URL: store.databaseUrl,
    REDIS_URL: store.redisUrl,
    REDIS_PREFIX: store.redisPrefix,
    COOKIE_SECRET: cookieSecret,
    // Bench users send far above a person's pace, register from one IP and hold many
    // sockets each; the limits are not under test, what they protect is.
    MESSAGE_RATE_LIMIT: '1000000',
    LOGIN_RATE_LIMIT_PER_IP: '1000000',
    LOGIN_RATE_LIMIT_PER_ACCOUNT: '1000000',
    MAX_SOCKETS_PER_USER: '100000',
  };
}

export async function startHubPods(runtime: Runtime, env: Record<string, string>, pods: number): Promise<Service[]> {
  return Promise.all(
    Array.from({ length: pods }, async (_, i) => {
      const port = await freePort();
      return startService({ name: `hub-${i}`, command: process.execPath, args: runtime.hub, env: { ...env, PORT: String(port) }, port, cwd: ROOT });
    }),
  );
}

const CEILING = fileURLToPath(new URL('../ceiling-server.ts', import.meta.url));

export async function startCeilingPods(store: BenchStore, pods: number): Promise<Service[]> {
  return Promise.all(
    Array.from({ length: pods }, async (_, i) => {
      const port = await freePort();
      const env = { PORT: String(port), CEILING_POD: String(i), CEILING_PODS: String(pods), REDIS_URL: store.redisUrl, REDIS_PREFIX: store.redisPrefix, NODE_ENV: 'production' };
      return startService({ name: `ceiling-${i}`, command: process.execPath, args: ['--import', 'tsx', CEILING], env, port, cwd: ROOT });
    }),
  );
}
