/**
 * `npm run bench:capacity`: the per-message and per-publish costs docs/scaling.md builds its
 * capacity model from, measured on what runs here, each in something of its own (a fresh
 * database dropped at the end, a private redis-server, a private 3-master Redis Cluster):
 *
 * - Postgres: WAL bytes and server CPU per stored message for batches of 1, 10 and 50 (the
 *   writer's group commit), through the hub's own insert statement;
 * - history: the insert and `sync` latency with an empty `messages` table and after
 *   `--history` rows (10 M by default, one INSERT ... SELECT generate_series), plus its size;
 * - Redis: server CPU and bytes in per publish of a message broadcast (the adapter's msgpack
 *   frame), single Redis PUBLISH vs Redis Cluster SPUBLISH to a per-room channel.
 *
 * Options: --history N (rows; 0 skips), --messages N (per WAL step), --publishes N.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import postgres from 'postgres';
import { insertMessages, listAfterCursors, type NewMessage } from '../src/db/repositories/messages.js';
import { createStore } from './lib/stack.js';
import { freePort, sleep } from './lib/services.js';

const run = promisify(execFile);
const { values: argv } = parseArgs({
  options: { history: { type: 'string' }, messages: { type: 'string' }, publishes: { type: 'string' } },
});
const HISTORY = Number(argv.history ?? 10_000_000);
const MESSAGES = Number(argv.messages ?? 5000);
const PUBLISHES = Number(argv.publishes ?? 200_000);
const CONVERSATIONS = 1000;
const BODY = 'x'.repeat(100);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const f = (x: number, d = 2) => x.toFixed(d);
/** CPU ms of a process so far (utime + stime, USER_HZ = 100). */
const cpuMs = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
};

async function postgresCosts(): Promise<void> {
  const store = await createStore();
  const sql = postgres(store.databaseUrl, { max: 1, onnotice: () => {} });
  try {
    await sql`insert into users (email, name, password_hash) select 'cap' || g || '@example.test', 'User ' || g, 'x' from generate_series(1, 2 * ${CONVERSATIONS}) g`;
    await sql`insert into conversations (client_id, worker_id) select 2 * g - 1, 2 * g from generate_series(1, ${CONVERSATIONS}) g`;
    const { pid } = (await sql<{ pid: number }[]>`select pg_backend_pid() as pid`)[0]!;
    const message = (i: number): NewMessage => {
      const c = 1 + (i % CONVERSATIONS);
      return { conversationId: c, senderId: 2 * c - 1, body: BODY, type: 'TEXT', clientMsgId: null };
    };
    console.log('Postgres, per stored message (the hub\'s insert statement, one connection, batches of n)');
    console.log('batch  messages  WAL bytes/msg  pg cpu ms/msg  statement p50 ms  p99 ms');
    for (const n of [1, 10, 50]) {
      const before = (await sql<{ lsn: string }[]>`select pg_current_wal_lsn()::text as lsn`)[0]!.lsn;
      const cpu0 = cpuMs(pid);
      const times: number[] = [];
      for (let i = 0; i < MESSAGES; i += n) {
        const batch = Array.from({ length: n }, (_, k) => message(i + k));
        const t = performance.now();
        await insertMessages(sql, batch);
        times.push(performance.now() - t);
      }
      const { bytes } = (await sql<{ bytes: number }[]>`select (pg_current_wal_lsn() - ${before}::pg_lsn)::float8 as bytes`)[0]!;
      console.log(`${String(n).padStart(5)}  ${String(MESSAGES).padStart(8)}  ${f(bytes / MESSAGES, 0).padStart(13)}  ${f((cpuMs(pid) - cpu0) / MESSAGES, 3).padStart(13)}  ${f(pct(times, 50)).padStart(16)}  ${f(pct(times, 99)).padStart(6)}`);
    }
    const latency = async (label: string) => {
      const ins: number[] = [];
      const syn: number[] = [];
      for (let i = 0; i < 300; i++) {
        let t = performance.now();
        await insertMessages(sql, Array.from({ length: 10 }, (_, k) => message(i * 37 + k)));
        ins.push(performance.now() - t);
        const c = 1 + ((i * 7) % (CONVERSATIONS - 5));
        const cursors = await sql<{ id: number; s: number }[]>`select id, greatest(last_seq - 20, 0) as s from conversations where id between ${c} and ${c + 4}`;
        t = performance.now();
        await listAfterCursors(sql, 2 * c - 1, cursors.map((r) => [r.id, r.s] as const), 100);
        syn.push(performance.now() - t);
      }
      const { size } = (await sql<{ size: string }[]>`select pg_size_pretty(pg_total_relation_size('messages')) as size`)[0]!;
      const { rows } = (await sql<{ rows: number }[]>`select count(*)::float8 as rows from messages`)[0]!;
      console.log(`${label.padEnd(22)} rows ${rows.toLocaleString('en')}, ${size}: insert (10) p50 ${f(pct(ins, 50))} p99 ${f(pct(ins, 99))} ms; sync (5 cursors, 20 behind) p50 ${f(pct(syn, 50))} p99 ${f(pct(syn, 99))} ms`);
    };
    console.log('\nHistory: latency with the table as it is, then with a long history');
    await latency('after the WAL steps');
    if (HISTORY > 0) {
      const per = Math.ceil(HISTORY / CONVERSATIONS);
      const t = performance.now();
      // Each conversation gets `per` more messages above its last_seq, spread over the past year.
      await sql`
        insert into messages (conversation_id, seq, sender_id, body, type, created_at)
        select c.id, c.last_seq + g, c.client_id + (g % 2), ${BODY}, 'TEXT', now() - interval '1 year' + (g * interval '1 second')
        from conversations c, generate_series(1, ${per}) g`;
      await sql`update conversations set last_seq = last_seq + ${per}`;
      await sql`vacuum analyze messages`;
      console.log(`  generated ${(per * CONVERSATIONS).toLocaleString('en')} rows in ${f((performance.now() - t) / 1000, 0)} s`);
      await latency('with the history');
    }
  } finally {
    await sql.end();
    await store.drop();
  }
}

/** The adapter's PUBLISH payload for a message broadcast is about this size: msgpack of [uid, packet, opts] with a 100-char body. */
function broadcastFrame(): Buffer {
  const message = { id: 123456, conversation_id: 4321, seq: 987, sender_id: '42', sender_name: 'User 42', sender_avatar: null, message: BODY, type: 'TEXT', created_at: new Date().toISOString(), message_id: 123456, client_msg_id: 'c-1234567890' };
  return Buffer.from(JSON.stringify(['8Hx2kq', { type: 2, data: ['message', message], nsp: '/inbox' }, { rooms: ['chat_4321'], except: [], flags: {} }]));
}

async function redisServer(port: number, extra: string[], dir: string): Promise<ChildProcess> {
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...extra], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    try {
      await run('redis-cli', ['-p', String(port), 'ping']);
      return proc;
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`redis-server on ${port} did not start`);
}

async function redisCosts(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'inbox-capacity-'));
  const procs: ChildProcess[] = [];
  const frame = broadcastFrame();
  console.log(`\nRedis, per broadcast publish (a ${frame.length}-byte frame, ${PUBLISHES} publishes, pipelined, one subscriber per server)`);
  console.log('target                  server cpu us/publish  bytes in/publish  publishes/s');
  try {
    // Single Redis: PUBLISH to the adapter's one channel, one subscribing pod.
    const port = await freePort();
    procs.push(await redisServer(port, [], dir));
    const sub = new Redis({ port });
    await sub.subscribe('bench#/inbox#');
    const pub = new Redis({ port, enableAutoPipelining: true });
    await measure('single Redis PUBLISH', [procs[0]!.pid!], [pub], (i) => pub.publish('bench#/inbox#', frame).then(() => i));
    sub.disconnect();
    pub.disconnect();

    // Redis Cluster, 3 masters: SPUBLISH to the room's channel (the sharded adapter, dynamic mode).
    const ports = [await freePort(), await freePort(), await freePort()];
    for (const p of ports) procs.push(await redisServer(p, ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${p}.conf`, '--cluster-node-timeout', '2000'], dir));
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes']);
    for (let i = 0; i < 100 && !(await run('redis-cli', ['-p', String(ports[0]), 'cluster', 'info'])).stdout.includes('cluster_state:ok'); i++) await sleep(200);
    const nodes = ports.map((p) => ({ host: '127.0.0.1', port: p }));
    const csub = new Cluster(nodes, { shardedSubscribers: true } as never);
    const rooms = Array.from({ length: 500 }, (_, i) => `bench#/inbox#chat_${i}#`);
    await csub.ssubscribe(...rooms.slice(0, 50)).catch(() => {});
    const cpub = new Cluster(nodes, { enableAutoPipelining: true });
    await measure('Redis Cluster SPUBLISH', procs.slice(1).map((p) => p.pid!), [cpub], (i) => cpub.spublish(rooms[i % rooms.length]!, frame).then(() => i));
    csub.disconnect();
    cpub.disconnect();
  } finally {
    for (const p of procs) p.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
}

async function measure(label: string, pids: number[], clients: Array<Redis | Cluster>, publish: (i: number) => Promise<number>): Promise<void> {
  const info = async () => {
    let bytes = 0;
    for (const c of clients) {
      const nodes = c instanceof Cluster ? c.nodes('master') : [c];
      for (const n of nodes) bytes += Number(/total_net_input_bytes:(\d+)/.exec(await n.info('stats'))?.[1] ?? 0);
    }
    return bytes;
  };
  for (let i = 0; i < 1000; i++) await publish(i); // warm-up: connections, slots
  const bytes0 = await info();
  const cpu0 = pids.reduce((s, p) => s + cpuMs(p), 0);
  const t = performance.now();
  for (let i = 0; i < PUBLISHES; i += 500) await Promise.all(Array.from({ length: 500 }, (_, k) => publish(i + k)));
  const s = (performance.now() - t) / 1000;
  const cpu = pids.reduce((sum, p) => sum + cpuMs(p), 0) - cpu0;
  const bytes = (await info()) - bytes0;
  console.log(`${label.padEnd(24)}${f((cpu * 1000) / PUBLISHES, 1).padStart(21)}  ${f(bytes / PUBLISHES, 0).padStart(16)}  ${f(PUBLISHES / s, 0).padStart(11)}`);
}

console.log(`capacity measurements, ${new Date().toISOString()}, load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
await redisCosts();
await postgresCosts();
process.exit(0);
