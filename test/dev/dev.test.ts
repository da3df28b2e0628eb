import { existsSync, statSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { testEnv } from '../helpers/config.js';
import { api, newConversation, newUser, sessionCookieFrom, type TestUser } from '../helpers/http.js';
import { freePort, spawnTs, type ChildService } from '../helpers/processes.js';
import { connectInbox, request, waitFor } from '../helpers/sockets.js';
import { startEmbeddedPostgres } from '../../src/db/embedded.js';
import { spawnDev, spawnNpmDev } from '../helpers/dev-process.js';
import { waitForOutput } from '../helpers/worker-process.js';
import { filePrefix, jobEvents, jobShape, settle, watch } from '../jobs/support.js';

const children: ChildService[] = [];
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'inbox-dev-'));
});
afterAll(async () => {
  await Promise.all(children.map((c) => c.stop('SIGKILL')));
  await rm(dir, { recursive: true, force: true });
});

async function startDev(env: Record<string, string>): Promise<{ dev: ChildService; url: string }> {
  const started = await spawnDev(env);
  children.push(started.dev);
  return started;
}

async function runDemoJob(url: string, user: TestUser) {
  const { socket } = await connectInbox(url, user.cookie);
  try {
    const got = jobEvents(socket);
    const res = await api(url, 'POST', '/api/jobs', { cookie: user.cookie, body: { name: 'demo.steps', data: { steps: 2, step_ms: 50 } } });
    const done = await settle(await watch(socket, res.body.job.job_id), got, (j) => j.state === 'completed');
    const expected = { job_id: res.body.job.job_id, state: 'completed', progress: 100, status_text: 'completed', result: { steps: 2 }, attempts_made: 1, seq: 5 };
    expect(done).toEqual(jobShape({ ...expected, created_at: res.body.job.created_at }));
    return done;
  } finally {
    socket.close();
  }
}

describe('npm run dev', () => {
  it('with DATABASE_URL: migrates it, then runs a hub and a worker in one process, and prints the URL to open', async () => {
    const { dev, url } = await startDev({ REDIS_PREFIX: filePrefix('jobs-dev') });
    expect(dev.output()).toContain('database: DATABASE_URL');
    await runDemoJob(url, await newUser(url));
    expect(await dev.stop('SIGTERM')).toBe(0);
  }, 90_000);

  it('without DATABASE_URL: runs on an embedded Postgres under PGLITE_DATA_DIR, and keeps chats and jobs across a restart', async () => {
    const dataDir = join(dir, 'pglite');
    const env = { DATABASE_URL: '', PGLITE_DATA_DIR: dataDir, EXPORT_DIR: join(dir, 'exports'), REDIS_PREFIX: filePrefix('dev-embedded') };
    const first = await startDev(env);
    expect(first.dev.output()).toContain(`database: embedded PGlite in ${dataDir}`);

    const [ann, bob] = [await newUser(first.url, { name: 'Ann' }), await newUser(first.url, { name: 'Bob' })];
    const conv = await newConversation(first.url, ann, bob);
    const [a, b] = [await connectInbox(first.url, ann.cookie), await connectInbox(first.url, bob.cookie)];
    const toBob = waitFor(b.socket, 'message');
    const ack = await request(a.socket, 'message', { conversation_id: conv.id, message: 'hi from PGlite', type: 'TEXT' });
    expect(ack).toMatchObject({ ok: true, message: { conversation_id: conv.id, seq: 1, sender_id: String(ann.user.id), message: 'hi from PGlite' } });
    expect(await toBob).toEqual(ack.message);
    a.socket.close();
    b.socket.close();
    const job = await runDemoJob(first.url, ann);
    expect(await first.dev.stop('SIGTERM')).toBe(0);

    // None of it went to the run's shared Postgres.
    const shared = postgres(testEnv().DATABASE_URL, { max: 1 });
    const [leaked] = await shared`select count(*)::int as n from users where email in (${ann.email}, ${bob.email})`.finally(() => shared.end());
    expect(leaked!.n).toBe(0);

    const second = await startDev(env);
    const login = await api(second.url, 'POST', '/api/auth/login', { body: { email: ann.email, password: ann.password } });
    expect(login.status).toBe(200);
    const cookie = sessionCookieFrom(login.headers);
    const history = await api(second.url, 'GET', `/api/conversations/${conv.id}/messages`, { cookie });
    expect(history.body).toEqual({ messages: [ack.message], has_more: false });
    expect((await api(second.url, 'GET', `/api/jobs/${job.job_id}`, { cookie })).body).toEqual({ job });
    expect(await second.dev.stop('SIGTERM')).toBe(0);
  }, 180_000);

  it('without COOKIE_SECRET: keeps the secret it generates next to its data, so a restart keeps everyone logged in', async () => {
    const dataDir = join(dir, 'kept-secret', 'pglite');
    const secretFile = join(dir, 'kept-secret', 'dev-cookie-secret');
    const env = { COOKIE_SECRET: '', PGLITE_DATA_DIR: dataDir, REDIS_PREFIX: filePrefix('dev-secret') };
    const first = await startDev(env);
    expect(first.dev.output()).toContain(`sessions: signed with the secret kept in ${secretFile} (or set COOKIE_SECRET)`);
    const ann = await newUser(first.url);
    expect(await first.dev.stop('SIGTERM')).toBe(0);
    expect(statSync(secretFile).mode & 0o777).toBe(0o600);
    expect((await readFile(secretFile, 'utf8')).trim()).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const second = await startDev(env);
    const me = await api(second.url, 'GET', '/api/me', { cookie: ann.cookie });
    expect([me.status, me.body]).toEqual([200, { user: ann.user }]);
    expect(await second.dev.stop('SIGTERM')).toBe(0);
  }, 90_000);

  it('npm run dev reads .env from where it runs (a variable of the shell wins over the file)', async () => {
    // A checkout of its own: the repository's files linked into a folder holding only a .env.
    const root = join(import.meta.dirname, '..', '..');
    const checkout = join(dir, 'checkout');
    await mkdir(checkout);
    for (const f of ['package.json', 'node_modules', 'src', 'workers', 'tsconfig.json']) await symlink(join(root, f), join(checkout, f));
    const [port, shellPort] = [await freePort(), await freePort()];
    const dotenv = {
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: inject('databaseUrl'),
      REDIS_URL: inject('redisUrl'),
      REDIS_PREFIX: filePrefix('dev-dotenv'),
      COOKIE_SECRET: 'a-dotenv-cookie-secret-of-enough-characters',
      LOG_LEVEL: 'silent',
    };
    await writeFile(join(checkout, '.env'), `# as cp .env.example .env leaves it, edited\n${Object.entries(dotenv).map(([k, v]) => `${k}=${v}`).join('\n')}\n`);

    const fromFile = spawnNpmDev({ cwd: checkout, env: {}, port });
    children.push(fromFile);
    await waitForOutput(fromFile, `open http://127.0.0.1:${port}/`, 60_000);
    expect((await fetch(`${fromFile.url}/readyz`)).status).toBe(200);
    await fromFile.stop('SIGTERM');

    const fromShell = spawnNpmDev({ cwd: checkout, env: { PORT: String(shellPort) }, port: shellPort });
    children.push(fromShell);
    await waitForOutput(fromShell, `open http://127.0.0.1:${shellPort}/`, 60_000);
    await fromShell.stop('SIGTERM');
  }, 150_000);

  it('stops with one line that says how to start Redis when Redis is unreachable (no password shown), before touching the data directory', async () => {
    const dataDir = join(dir, 'never');
    const port = await freePort();
    const dev = spawnTs('src/dev.ts', testEnv({ DATABASE_URL: '', REDIS_URL: `redis://:hunter2@127.0.0.1:${port}`, PGLITE_DATA_DIR: dataDir }));
    children.push(dev);
    expect(await dev.exited).toBe(1);
    expect(dev.output()).toBe(
      `cannot reach Redis at 127.0.0.1:${port}: start one with \`redis-server --save "" --appendonly no\` (or \`docker compose up -d redis\`), or set REDIS_URL\n`,
    );
    expect(existsSync(dataDir)).toBe(false);
  }, 30_000);

  it('on a port already taken, stops with one line, and its data directory opens again at once', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    const dataDir = join(dir, 'busy-port');
    try {
      const dev = spawnTs('src/dev.ts', testEnv({ DATABASE_URL: '', PORT: String(port), PGLITE_DATA_DIR: dataDir, REDIS_PREFIX: filePrefix('dev-port') }));
      children.push(dev);
      expect(await dev.exited).toBe(1);
      expect(dev.output()).toMatch(/^dev failed to start: listen EADDRINUSE: address already in use 127\.0\.0\.1:\d+\n$/);
      expect([existsSync(dataDir), existsSync(`${dataDir}.lock`)]).toEqual([true, false]);
      const again = await startEmbeddedPostgres(dataDir);
      await again.close();
    } finally {
      taken.close();
    }
  }, 90_000);

  it('stops with one line naming the unreachable DATABASE_URL (host and database only) and the way out', async () => {
    const port = await freePort();
    const dev = spawnTs('src/dev.ts', testEnv({ DATABASE_URL: `postgres://postgres:s3cret@127.0.0.1:${port}/inbox`, REDIS_PREFIX: filePrefix('dev-nopg') }));
    children.push(dev);
    expect(await dev.exited).toBe(1);
    expect(dev.output()).toBe(
      `cannot reach Postgres at 127.0.0.1:${port}/inbox (DATABASE_URL): start it, or unset DATABASE_URL to use the embedded one\n`,
    );
  }, 30_000);
});
