import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { io } from 'socket.io-client';
import { cpuMs } from '../lib/proc.js';
import { sleep } from '../lib/services.js';
import { percentiles, type Percentiles } from '../lib/stats.js';
import type { BenchStore } from '../lib/stack.js';
import type { Target } from '../lib/targets.js';

/** Connect cost of one user with `conversations` conversations: handshake -> `ready`, and the Postgres work. */
export interface SnapshotResult {
  target: Target['name'];
  conversations: number;
  connects: number;
  /** ms from creating the socket (TCP, WebSocket, handshake) to its `ready`. */
  readyMs: Percentiles;
  /** Transactions committed in the run's database per connect (each statement outside a transaction is one). */
  statementsPerConnect: number;
  hubCpuMsPerConnect: number;
  /** Characters of the `ready` payload as JSON. */
  readyChars: number;
  /** Conversations `ready` carried in full, of all the user's. */
  snapshotConversations: number;
}

const MESSAGES_PER_CONVERSATION = 20;

/** A user registered over HTTP, with `n` conversations (each 20 messages, markers half way) made in SQL. */
async function probeUser(url: string, sql: postgres.Sql, n: number): Promise<{ cookie: string }> {
  const res = await fetch(`${url}/api/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: `snapshot-${randomBytes(5).toString('hex')}@example.test`, password: 'bench password 123', name: 'Snapshot Probe' }),
  });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${await res.text()}`);
  const { user } = (await res.json()) as { user: { id: number } };
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('sessionid='))!.split(';')[0]!;
  if (n === 0) return { cookie };
  const peers = await sql<{ id: number }[]>`
    insert into users (email, name, password_hash)
    select 'snapshot-peer-' || ${user.id} || '-' || g || '@example.test', 'Peer ' || g, 'x' from generate_series(1, ${n}) g returning id`;
  const convs = await sql<{ id: number; peer: number }[]>`
    insert into conversations (client_id, worker_id, last_seq, client_sent, worker_sent, last_activity_at)
    select ${user.id}, p.id, ${MESSAGES_PER_CONVERSATION}, ${Math.floor(MESSAGES_PER_CONVERSATION / 2)},
      ${MESSAGES_PER_CONVERSATION - Math.floor(MESSAGES_PER_CONVERSATION / 2)}, now() - make_interval(secs => p.ord)
    from unnest(${peers.map((p) => p.id)}::int[]) with ordinality as p(id, ord)
    returning id, worker_id as peer`;
  // The counters the hub keeps (client_sent, worker_sent, own_read) are set to match: the user,
  // the client, sends the even seqs.
  await sql`
    insert into messages (conversation_id, seq, sender_id, body, type)
    select c.id, s, case when s % 2 = 0 then ${user.id} else c.peer end, repeat('x', 100), 'TEXT'
    from unnest(${convs.map((c) => c.id)}::int[], ${convs.map((c) => c.peer)}::int[]) as c(id, peer), generate_series(1, ${MESSAGES_PER_CONVERSATION}) s`;
  const half = MESSAGES_PER_CONVERSATION / 2;
  await sql`
    insert into read_markers (user_id, conversation_id, last_read_seq, own_read)
    select ${user.id}, c, ${half}, ${Math.floor(half / 2)} from unnest(${convs.map((c) => c.id)}::int[]) c`;
  await sql`
    insert into delivered_markers (user_id, conversation_id, delivered_seq)
    select c.peer, c.id, ${MESSAGES_PER_CONVERSATION} from unnest(${convs.map((c) => c.id)}::int[], ${convs.map((c) => c.peer)}::int[]) as c(id, peer)`;
  return { cookie };
}

/** One socket to `ready`, then closed; resolves with the time it took and the payload. */
function connectOnce(url: string, cookie: string): Promise<{ ms: number; ready: { conversations: unknown[] } }> {
  const started = performance.now();
  const socket = io(`${url}/inbox`, { extraHeaders: { cookie }, transports: ['websocket'], reconnection: false, forceNew: true, timeout: 20_000 });
  return new Promise((resolve, reject) => {
    socket.once('ready', (ready: { conversations: unknown[] }) => {
      const ms = performance.now() - started;
      socket.close();
      resolve({ ms, ready });
    });
    socket.once('connect_error', (err) => {
      socket.close();
      reject(err);
    });
  });
}

/**
 * Postgres reports a backend's statistics to pg_stat_database when it goes idle, but at most once
 * a second; a report held back that way waits up to 10 s. So the count is read once it has not
 * moved for 11 s.
 */
async function settledCommits(store: BenchStore): Promise<number> {
  let last = await store.commits();
  let stillFor = 0;
  for (let i = 0; i < 60 && stillFor < 11; i++) {
    await sleep(1000);
    const now = await store.commits();
    stillFor = now === last ? stillFor + 1 : 0;
    last = now;
  }
  return last;
}

/**
 * For each size: a fresh probe user with that many conversations connects `connects` times,
 * one socket after another (after 10 unmeasured ones), against a running hub pod.
 */
export async function runSnapshot(t: Target, o: { sizes: number[]; connects: number; log(line: string): void }): Promise<SnapshotResult[]> {
  const store = t.store!;
  const pod = t.pods[0]!;
  const sql = postgres(store.databaseUrl, { max: 2, onnotice: () => {} });
  const out: SnapshotResult[] = [];
  try {
    for (const size of o.sizes) {
      const { cookie } = await probeUser(pod.url, sql, size);
      let last: { conversations: unknown[] } | null = null;
      for (let i = 0; i < 10; i++) last = (await connectOnce(pod.url, cookie)).ready;
      const commits0 = await settledCommits(store);
      const cpu0 = cpuMs(pod.pid);
      const ms: number[] = [];
      for (let i = 0; i < o.connects; i++) ms.push((await connectOnce(pod.url, cookie)).ms);
      const cpu = cpuMs(pod.pid) - cpu0;
      const commits = (await settledCommits(store)) - commits0;
      const r: SnapshotResult = {
        target: t.name, conversations: size, connects: o.connects, readyMs: percentiles([Float64Array.from(ms)]),
        statementsPerConnect: commits / o.connects, hubCpuMsPerConnect: cpu / o.connects,
        readyChars: JSON.stringify(last).length, snapshotConversations: last?.conversations?.length ?? 0,
      };
      o.log(`  ${t.name} ${size} conversations: ready p50 ${r.readyMs.p50.toFixed(2)} ms, p99 ${r.readyMs.p99.toFixed(2)} ms, ${r.statementsPerConnect.toFixed(2)} statements/connect, cpu ${r.hubCpuMsPerConnect.toFixed(2)} ms/connect`);
      out.push(r);
    }
  } finally {
    await sql.end();
  }
  return out;
}
