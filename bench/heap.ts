/**
 * `npm run bench:heap`: JS heap the hub keeps per idle /inbox socket, after garbage collection,
 * with the hub in this process (so `gc()` and a heap snapshot can see it) and the sockets in a
 * child process. One user in 5 conversations opens `--sockets` sockets (3,000); the figure is
 * the heap after they all got `ready`, minus the heap before, over their number. Unlike the RSS
 * per socket of `npm run bench` it does not move with when the collector last ran.
 * `--snapshot DIR` writes both heap snapshots there (compare them in Chrome DevTools).
 */
import { fork } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeHeapSnapshot } from 'node:v8';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createStore } from './lib/stack.js';
import { sleep } from './lib/services.js';

const { values: argv } = parseArgs({ options: { sockets: { type: 'string' }, snapshot: { type: 'string' } } });
const N = Number(argv.sockets ?? 3000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run it with node --expose-gc (npm run bench:heap does)');

const store = await createStore();
const app = await buildApp(
  loadConfig({
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    METRICS_TOKEN: 'bench-heap-metrics-token-0123456789',
    DATABASE_URL: store.databaseUrl,
    REDIS_URL: store.redisUrl,
    REDIS_PREFIX: store.redisPrefix,
    COOKIE_SECRET: 'bench-heap-cookie-secret-0123456789abcdef',
    HOST: '127.0.0.1',
    PORT: '0',
    MAX_SOCKETS_PER_USER: '100000',
    LOGIN_RATE_LIMIT_PER_IP: '100000',
  }),
  { logger: false },
);
try {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const register = async (email: string) => {
    const body = JSON.stringify({ email, password: 'bench-heap-password', name: email.split('@')[0] });
    const res = await fetch(`${base}/api/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    if (!res.ok) throw new Error(`register: ${res.status} ${await res.text()}`);
    return { id: ((await res.json()) as { user: { id: number } }).user.id, cookie: res.headers.getSetCookie()[0]!.split(';')[0]! };
  };
  const me = await register('heap-me@bench.test');
  for (let i = 0; i < 5; i++) {
    const other = await register(`heap-peer-${i}@bench.test`);
    const body = JSON.stringify({ client_id: me.id, worker_id: other.id });
    await fetch(`${base}/api/conversations`, { method: 'POST', headers: { 'content-type': 'application/json', cookie: me.cookie }, body });
  }
  const heap = () => {
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };
  // A first, unmeasured round puts the code and the caches in place.
  for (const [round, n] of [['warm-up', 200], ['measured', N]] as const) {
    const before = heap();
    if (round === 'measured' && argv.snapshot) writeHeapSnapshot(join(argv.snapshot, 'before.heapsnapshot'));
    const child = fork(new URL('./heap/clients.mjs', import.meta.url), [base, me.cookie, String(n)], { stdio: 'inherit' });
    await new Promise((resolve) => child.once('message', resolve));
    await sleep(1500);
    const after = heap();
    if (round === 'measured') {
      if (argv.snapshot) writeHeapSnapshot(join(argv.snapshot, 'after.heapsnapshot'));
      console.log(`heap per idle /inbox socket: ${((after - before) / n / 1024).toFixed(2)} KB (${n} sockets, 5 conversations each, after gc)`);
    }
    child.send('close');
    await new Promise((resolve) => child.once('exit', resolve));
    await sleep(1500);
  }
} finally {
  await app.close();
  await store.drop();
}
