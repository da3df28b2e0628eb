import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { build as esbuild } from 'esbuild';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { runMigrations } from '../../src/db/migrate.js';
import { createRedis } from '../../src/redis.js';
import { freePort, startService, type Service } from './services.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ADMIN_URL = process.env.BENCH_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** How the hub and the worker are run: compiled JS as in production, or tsx when the build failed. */
export interface Runtime {
  mode: 'compiled' | 'tsx';
  /** The checkout the hub runs from: this one, or a baseline revision's copy. */
  cwd: string;
  hub: string[];
  worker: string[];
  note: string | null;
}

/** `npm run build`, then `node dist/...`; a failing build (others' work in progress) falls back to tsx. */
export async function prepareRuntime(build: boolean): Promise<Runtime> {
  const compiled: Runtime = { mode: 'compiled', cwd: ROOT, hub: ['dist/src/server.js'], worker: ['dist/workers/main.js'], note: null };
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

export function dirRuntime(dir: string): Runtime {
  const cwd = resolve(dir);
  if (!existsSync(`${cwd}/dist/src/server.js`)) throw new Error(`--hub-dir: no ${cwd}/dist/src/server.js (build it there first)`);
  return { mode: 'compiled', cwd, hub: ['dist/src/server.js'], worker: ['dist/workers/main.js'], note: `hub run from ${cwd}` };
}

const tsxRuntime = (): Runtime => ({
  mode: 'tsx',
  cwd: ROOT,
  hub: ['--import', 'tsx', 'src/server.ts'],
  worker: ['--import', 'tsx', 'workers/main.ts'],
  note: null,
});

const run = (cmd: string, args: string[], cwd: string) =>
  new Promise<void>((resolve, reject) => {
    execFile(cmd, args, { cwd, timeout: 300_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd} ${args.join(' ')} failed:\n${`${stdout}${stderr}`.trim().split('\n').slice(-8).join('\n')}`)) : resolve(),
    );
  });

/**
 * A committed revision of the hub, exported to a temporary directory and built there, to run
 * side by side with the working tree: before/after figures under the same load on the box.
 */
export async function prepareRevision(rev: string): Promise<{ runtime: Runtime; commit: string }> {
  const commit = await new Promise<string>((resolve, reject) =>
    execFile('git', ['rev-parse', '--short', `${rev}^{commit}`], { cwd: ROOT }, (err, out) => (err ? reject(new Error(`unknown git revision ${rev}`)) : resolve(out.trim()))),
  );
  // Outside the checkout, so `tsc -p .` and vitest never see the copy's sources.
  const dir = `${tmpdir()}/inbox-bench-baseline/${commit}/`;
  if (!existsSync(`${dir}dist/src/server.js`)) {
    mkdirSync(dir, { recursive: true });
    await run('sh', ['-c', `git archive ${commit} | tar -x -C '${dir}'`], ROOT);
    if (!existsSync(`${dir}node_modules`)) symlinkSync(`${ROOT}node_modules`, `${dir}node_modules`);
    await run('npm', ['run', 'build'], dir);
  }
  return { runtime: { mode: 'compiled', cwd: dir, hub: ['dist/src/server.js'], worker: ['dist/workers/main.js'], note: null }, commit };
}

/** The run's own database (migrated) and Redis prefix; `drop()` removes both. */
export interface BenchStore {
  runId: string;
  databaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
  /** Postgres backends serving the run's database now, for their CPU time. */
  backendPids(): Promise<number[]>;
  /** Transactions committed in the run's database so far (Postgres' statistics, flushed about every second). */
  commits(): Promise<number>;
  drop(): Promise<void>;
}

export async function createStore(): Promise<BenchStore> {
  const runId = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const dbName = `inbox_bench_${runId}`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${dbName}"`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${dbName}`;
  await runMigrations(url.toString());
  const redisPrefix = `inbox-bench-${runId}`;
  return {
    runId,
    databaseUrl: url.toString(),
    redisUrl: REDIS_URL,
    redisPrefix,
    backendPids: async () => (await admin<{ pid: number }[]>`select pid from pg_stat_activity where datname = ${dbName}`).map((r) => r.pid),
    commits: async () => (await admin<{ n: number }[]>`select xact_commit::float8 as n from pg_stat_database where datname = ${dbName}`)[0]?.n ?? 0,
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
    // Production requires it (the bench does not scrape /metrics).
    METRICS_TOKEN: `metrics-${cookieSecret}`,
    // Bench users send far above a person's pace, register from one IP and hold many
    // sockets each; the limits are not under test, what they protect is.
    // BENCH_MESSAGE_RATE_LIMIT (e.g. the default 20) measures what the cross-pod limit costs.
    MESSAGE_RATE_LIMIT: process.env.BENCH_MESSAGE_RATE_LIMIT ?? '1000000',
    LOGIN_RATE_LIMIT_PER_IP: '1000000',
    LOGIN_RATE_LIMIT_PER_ACCOUNT: '1000000',
    MAX_SOCKETS_PER_USER: '100000',
  };
}

export async function startHubPods(runtime: Runtime, env: Record<string, string>, pods: number, nodeArgs: string[] = []): Promise<Service[]> {
  return Promise.all(
    Array.from({ length: pods }, async (_, i) => {
      const port = await freePort();
      return startService({ name: `hub-${i}`, command: process.execPath, args: [...nodeArgs, ...runtime.hub], env: { ...env, PORT: String(port) }, port, cwd: runtime.cwd });
    }),
  );
}

/** One `npm run worker` process (compiled like the hub) with the hub's environment. */
export function startWorker(runtime: Runtime, env: Record<string, string>, concurrency: number): Promise<Service> {
  return startService({
    name: 'worker', command: process.execPath, args: runtime.worker, env: { ...env, WORKER_CONCURRENCY: String(concurrency) },
    port: 0, cwd: runtime.cwd, readyText: 'worker ready',
  });
}

const CEILING_SOURCE = fileURLToPath(new URL('../ceiling-server.ts', import.meta.url));
const CEILING_BUILT = `${ROOT}bench/results/.build/ceiling-server.mjs`;

/** Compiled like the hub (plain node, no loader), so runtimes do not differ between the two. */
async function buildCeiling(): Promise<string> {
  await esbuild({ entryPoints: [CEILING_SOURCE], outfile: CEILING_BUILT, format: 'esm', platform: 'node', target: 'node20', logLevel: 'error' });
  return CEILING_BUILT;
}

export async function startCeilingPods(store: BenchStore, pods: number): Promise<Service[]> {
  const entry = await buildCeiling();
  return Promise.all(
    Array.from({ length: pods }, async (_, i) => {
      const port = await freePort();
      const env = { PORT: String(port), CEILING_POD: String(i), CEILING_PODS: String(pods), REDIS_URL: store.redisUrl, REDIS_PREFIX: store.redisPrefix, NODE_ENV: 'production' };
      return startService({ name: `ceiling-${i}`, command: process.execPath, args: [entry], env, port, cwd: ROOT });
    }),
  );
}
