import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { sign } from '@fastify/cookie';
import postgres from 'postgres';
import { io, type Socket } from 'socket.io-client';
import { createRedis } from '../../src/redis.js';
import { sumCpuMs } from '../lib/proc.js';
import { freePort, sleep } from '../lib/services.js';
import type { BenchStore, Runtime } from '../lib/stack.js';
import { startHubPods } from '../lib/stack.js';

/**
 * Presence: `watchers` users stay connected; `movers` users (each a peer of `peers` watchers, so
 * every user has `peers` peers) connect and disconnect in waves, and a reload wave (disconnect,
 * reconnect inside the grace) that must send nothing. Then one user with `bigPeers` peers
 * against one with `peers`, toggled one change at a time. Its own Redis server, so INFO
 * commandstats counts the hub's commands alone, and a short grace (PRESENCE_GRACE_MS) so waves
 * do not wait 10 s.
 */
export interface PresenceResult {
  users: number;
  peers: number;
  pods: number;
  graceMs: number;
  waves: number;
  changes: number;
  expectedEvents: number;
  deliveredEvents: number;
  lost: number;
  extra: number;
  /** Events during reload waves (expected 0 unless a reload took longer than the grace). */
  reloadEvents: number;
  /** Reloads whose close -> ready took at least the grace (a loaded box): those may send offline + online. */
  slowReloads: number;
  hubCpuMsPerChange: number;
  redisCommandsPerChange: number;
  /** The commands that make up a change, per change. */
  redisTop: Array<[string, number]>;
  /** One user toggled alone: `peers` peers vs `bigPeers`. */
  single: Array<{ peers: number; changes: number; online: ChangeCost; offline: ChangeCost }>;
}

/** Medians over the toggles of one kind of change: hub CPU (both pods), Redis commands, ms until every peer heard it. */
export interface ChangeCost {
  cpuMs: number;
  commands: number;
  ms: number;
}

interface Options {
  runtime: Runtime;
  env: Record<string, string>;
  store: BenchStore;
  pods: number;
  watchers: number;
  peers: number;
  bigPeers: number;
  waves: number;
  toggles: number;
  graceMs: number;
  log(line: string): void;
}

type Client = Socket;

async function startRedis(): Promise<{ url: string; stop(): void }> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  const probe = createRedis({ url, name: 'bench-presence-probe' });
  probe.on('error', () => {});
  for (let i = 0; i < 100 && probe.status !== 'ready'; i++) await sleep(50);
  probe.disconnect();
  return { url, stop: () => child.kill('SIGKILL') };
}

/** Sum of calls per command from INFO commandstats. */
async function commandStats(redis: ReturnType<typeof createRedis>): Promise<Map<string, number>> {
  const info = await redis.info('commandstats');
  const out = new Map<string, number>();
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out.set(m[1]!, Number(m[2]));
  return out;
}
const diff = (a: Map<string, number>, b: Map<string, number>) => {
  const d = new Map<string, number>();
  for (const [k, v] of b) d.set(k, v - (a.get(k) ?? 0));
  // INFO itself is not the hub's.
  d.delete('info');
  return d;
};
const total = (m: Map<string, number>) => [...m.values()].reduce((s, v) => s + v, 0);

/** Users and signed session cookies made in SQL (registering thousands over HTTP would time scrypt, not presence). */
async function seed(sql: postgres.Sql, secret: string, n: number, runId: string): Promise<Array<{ id: number; cookie: string }>> {
  const users = await sql<{ id: number }[]>`
    insert into users (email, name, password_hash)
    select 'presence-' || ${runId} || '-' || g || '@example.test', 'P' || g, 'x' from generate_series(1, ${n}) g returning id`;
  const tokens = users.map(() => randomBytes(32).toString('base64url'));
  await sql`
    insert into sessions (token_hash, user_id, expires_at)
    select t, u, now() + interval '1 day'
    from unnest(${tokens.map((t) => createHash('sha256').update(t).digest('hex'))}::text[], ${users.map((u) => u.id)}::int[]) as x(t, u)`;
  return users.map((u, i) => ({ id: u.id, cookie: `sessionid=${encodeURIComponent(sign(tokens[i]!, secret))}` }));
}

async function pairs(sql: postgres.Sql, list: Array<[number, number]>): Promise<void> {
  for (let i = 0; i < list.length; i += 5000) {
    const chunk = list.slice(i, i + 5000);
    await sql`insert into conversations (client_id, worker_id) select * from unnest(${chunk.map((p) => p[0])}::int[], ${chunk.map((p) => p[1])}::int[])`;
  }
}

function open(url: string, cookie: string, onPresence: (p: { user_id: number; online: boolean }) => void): Promise<Client> {
  const socket = io(`${url}/inbox`, { extraHeaders: { cookie }, transports: ['websocket'], reconnection: false, forceNew: true, timeout: 30_000 });
  socket.on('presence', onPresence);
  return new Promise((resolve, reject) => {
    socket.once('ready', () => resolve(socket));
    socket.once('connect_error', (err) => {
      socket.close();
      reject(err);
    });
  });
}

async function inLanes<T>(items: T[], lanes: number, task: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: lanes }, async () => {
    while (next < items.length) {
      const i = next++;
      await task(items[i]!, i);
    }
  }));
}

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await sleep(20);
  }
  return check();
}

export async function runPresence(o: Options): Promise<PresenceResult> {
  const redisServer = await startRedis();
  const redis = createRedis({ url: redisServer.url, name: 'bench-presence-stats' });
  const sql = postgres(o.store.databaseUrl, { max: 4, onnotice: () => {} });
  const clients: Client[] = [];
  const env = { ...o.env, DATABASE_URL: o.store.databaseUrl, REDIS_URL: redisServer.url, PRESENCE_GRACE_MS: String(o.graceMs) };
  const hubs = await startHubPods(o.runtime, env, o.pods);
  const pids = hubs.map((h) => h.pid);
  try {
    const runId = randomBytes(4).toString('hex');
    const secret = o.env.COOKIE_SECRET!;
    const watchers = await seed(sql, secret, o.watchers, `w${runId}`);
    const movers = await seed(sql, secret, o.watchers, `m${runId}`);
    const [big] = await seed(sql, secret, 1, `b${runId}`);
    // Mover j shares a conversation with watchers j .. j+peers-1 (mod): everyone has `peers` peers.
    const list: Array<[number, number]> = [];
    movers.forEach((m, j) => {
      for (let k = 0; k < o.peers; k++) list.push([m.id, watchers[(j + k) % watchers.length]!.id]);
    });
    for (let k = 0; k < Math.min(o.bigPeers, watchers.length); k++) list.push([big!.id, watchers[k]!.id]);
    await pairs(sql, list);
    const peersOfMover = (_j: number) => o.peers;
    o.log(`  seeded ${watchers.length + movers.length + 1} users, ${list.length} conversations; ${o.pods} hub pod(s), grace ${o.graceMs} ms`);

    // Every presence event any watcher socket heard.
    let heard = 0;
    const onPresence = () => {
      heard++;
    };
    await inLanes(watchers, 50, async (w, i) => {
      clients.push(await open(hubs[i % hubs.length]!.url, w.cookie, onPresence));
    });
    await sleep(o.graceMs + 1500);
    heard = 0;

    const s0 = await commandStats(redis);
    const cpu0 = sumCpuMs(pids);
    let expected = 0;
    let changes = 0;
    let reloadEvents = 0;
    let slowReloads = 0;
    const moverSockets: Array<Client | null> = movers.map(() => null);
    const waveTimeout = 60_000;
    for (let wave = 0; wave < o.waves; wave++) {
      // Online wave.
      await inLanes(movers, 50, async (m, j) => {
        moverSockets[j] = await open(hubs[(j + wave) % hubs.length]!.url, m.cookie, () => {});
      });
      expected += movers.reduce((s, _, j) => s + peersOfMover(j), 0);
      changes += movers.length;
      await until(() => heard >= expected + reloadEvents, waveTimeout);
      // Reload wave: every mover disconnects and reconnects (on another pod) inside the grace.
      const before = heard;
      await inLanes(movers, 50, async (m, j) => {
        const closedAt = performance.now();
        moverSockets[j]!.close();
        moverSockets[j] = await open(hubs[(j + wave + 1) % hubs.length]!.url, m.cookie, () => {});
        // The hub's gap (release to claim) is inside this one (close to ready).
        if (performance.now() - closedAt >= o.graceMs) slowReloads++;
      });
      await sleep(o.graceMs + 1500);
      reloadEvents += heard - before;
      // Offline wave.
      for (const s of moverSockets) s?.close();
      expected += movers.reduce((s, _, j) => s + peersOfMover(j), 0);
      changes += movers.length;
      await until(() => heard >= expected + reloadEvents, waveTimeout + o.graceMs);
      o.log(`  wave ${wave + 1}: ${heard - reloadEvents}/${expected} presence events, ${reloadEvents} during reloads (${slowReloads} reloads slower than the grace)`);
    }
    await until(() => heard >= expected + reloadEvents, o.graceMs + 5000);
    await sleep(1000);
    const cpu = sumCpuMs(pids) - cpu0;
    const commands = diff(s0, await commandStats(redis));
    const deliveredEvents = heard;

    // One user at a time, `peers` peers vs `bigPeers`: each change measured in its own window
    // (from the connect, or the close, until every peer heard it), the median over the toggles,
    // so a burst of lease renewals landing in one window does not count.
    const single: PresenceResult['single'] = [];
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    for (const [who, n] of [[movers[0]!, o.peers], [big!, Math.min(o.bigPeers, watchers.length)]] as const) {
      const on = { ms: [] as number[], cpu: [] as number[], cmd: [] as number[] };
      const off = { ms: [] as number[], cpu: [] as number[], cmd: [] as number[] };
      const window = async (into: typeof on, act: () => Promise<unknown>, target: number, timeoutMs: number) => {
        const r0 = await commandStats(redis);
        const c0 = sumCpuMs(pids);
        const t0 = performance.now();
        await act();
        await until(() => heard >= target, timeoutMs);
        into.ms.push(performance.now() - t0);
        into.cpu.push(sumCpuMs(pids) - c0);
        into.cmd.push(total(diff(r0, await commandStats(redis))) - 1);
      };
      for (let i = 0; i < o.toggles; i++) {
        let s: Client | null = null;
        await window(on, async () => (s = await open(hubs[i % hubs.length]!.url, who.cookie, () => {})), heard + n, 30_000);
        await window(off, async () => s!.close(), heard + n, 30_000 + o.graceMs);
        await sleep(200);
      }
      single.push({
        peers: n, changes: 2 * o.toggles,
        online: { cpuMs: median(on.cpu), commands: median(on.cmd), ms: median(on.ms) },
        offline: { cpuMs: median(off.cpu), commands: median(off.cmd), ms: median(off.ms) },
      });
    }
    const top = [...commands].filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]).slice(0, 8).map(([k, v]) => [k, v / changes] as [string, number]);
    return {
      users: watchers.length + movers.length, peers: o.peers, pods: o.pods, graceMs: o.graceMs, waves: o.waves, changes,
      expectedEvents: expected, deliveredEvents, lost: Math.max(0, expected - (deliveredEvents - reloadEvents)), extra: Math.max(0, deliveredEvents - reloadEvents - expected),
      reloadEvents, slowReloads, hubCpuMsPerChange: cpu / changes, redisCommandsPerChange: total(commands) / changes, redisTop: top, single,
    };
  } finally {
    for (const c of clients) c.close();
    await Promise.all(hubs.map((h) => h.stop()));
    await sql.end();
    redis.disconnect();
    redisServer.stop();
  }
}
