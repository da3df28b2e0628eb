import postgres from 'postgres';
import type { JobDto } from '../../src/domain/job-dto.js';
import { SHUTTING_DOWN } from '../../src/realtime/drain.js';
import type { MessageDto } from '../../src/realtime/protocol.js';
import { api, newConversation, newUser, type TestUser } from '../helpers/http.js';
import { startPrivatePostgres, type PrivatePostgres } from '../helpers/private-postgres.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/private-redis.js';
import type { ChildService } from '../helpers/processes.js';
import { connectInbox, request, type ClientSocket } from '../helpers/sockets.js';
import { spawnWorker } from '../helpers/worker-process.js';
import { filePrefix } from '../jobs/support.js';
import { spawnHubPatiently } from './fault-helpers.js';

/**
 * The fault rounds: a private Postgres and Redis, two hub processes and two worker processes;
 * users on cross-pod conversations sending with client_msg_id retries (and moving to the other
 * pod when theirs goes away), watched demo.steps jobs; one fault injected mid-run per round.
 * Every number a round's verdict needs is collected here; the test files assert on them.
 */
export type Fault = 'redis-restart' | 'postgres-restart' | 'worker-sigkill' | 'hub-sigkill' | 'hub-sigterm';
export const FAULTS: readonly Fault[] = ['redis-restart', 'postgres-restart', 'worker-sigkill', 'hub-sigkill', 'hub-sigterm'];

export interface Scale {
  /** Conversations, each between a user on one pod and a user on the other. */
  pairs: number;
  /** Messages per second over all senders (each user sends). */
  rate: number;
  jobs: number;
  steps: number;
  stepMs: number;
  /** Traffic before the fault, and after recovery (at least 10 s, the recovery bound). */
  beforeMs: number;
  afterMs: number;
}

export const FULL_SCALE: Scale = { pairs: 10, rate: 50, jobs: 5, steps: 30, stepMs: 200, beforeMs: 3000, afterMs: 12_000 };

export interface RoundResult {
  fault: Fault;
  sent: number;
  acked: number;
  stored: number;
  lost: number;
  duplicated: number;
  gaps: number;
  ackMismatches: number;
  incompleteClients: number;
  jobsCompleted: number;
  jobsFailed: number;
  jobsNotFinal: number;
  /** Jobs whose watcher's last state is not the stored final one. */
  jobsUnseen: number;
  /** Failed requests (acks not ok, no ack) in all, and later than 10 s after recovery. */
  failedRequests: number;
  failedAfterRecovery: number;
  /** Requests to a SIGTERM'd pod that never got an ack. */
  acksLostAtSigterm: number;
  /** How long the fault lasted (server down, process replaced). */
  faultMs: number;
  /** From the end of the fault to the last failed request (0: none after it). */
  recoveryMs: number;
  /** From the fault's start to the last failed request: how long users saw errors (0: none). */
  disruptionMs: number;
  /** SIGTERM'd pod: ms from the signal to its exit, and its exit code. */
  sigtermExitMs: number | null;
  sigtermExitCode: number | string | null;
  notes: string[];
}

const RECOVERY_BOUND_MS = 10_000;
const ACK_TIMEOUT_MS = 12_000;

interface Failure {
  at: number;
  pod: number;
  reason: string;
}

/** The servers and processes of a fault run; rounds replace the processes they kill. */
export class FaultCluster {
  hubs: ChildService[] = [];
  workers: ChildService[] = [];
  admin!: postgres.Sql;
  private constructor(
    readonly pg: PrivatePostgres,
    readonly redis: PrivateRedis,
    readonly env: Record<string, string>,
  ) {}

  static async start(label: string, extraEnv: Record<string, string> = {}): Promise<FaultCluster> {
    const [pg, redis] = await Promise.all([startPrivatePostgres(), startPrivateRedis()]);
    const env = {
      DATABASE_URL: pg.url,
      REDIS_URL: redis.url,
      REDIS_PREFIX: filePrefix(label),
      MESSAGE_RATE_LIMIT: '1000',
      MAX_SOCKETS_PER_USER: '1000',
      // A killed worker's job is found stalled within seconds, not a minute.
      JOB_LOCK_MS: '3000',
      WORKER_CONCURRENCY: '2',
      ...extraEnv,
    };
    const cluster = new FaultCluster(pg, redis, env);
    cluster.admin = postgres(pg.url, { max: 2, onnotice: () => {}, idle_timeout: 5 });
    cluster.hubs = await Promise.all([cluster.spawnHub(), cluster.spawnHub()]);
    cluster.workers = await Promise.all([spawnWorker(env, 150_000), spawnWorker(env, 150_000)]);
    return cluster;
  }

  spawnHub(): Promise<ChildService> {
    return spawnHubPatiently(this.env, 150_000);
  }

  get urls(): string[] {
    return this.hubs.map((h) => h.url);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.hubs, ...this.workers].map((p) => p.stop('SIGKILL')));
    await this.admin?.end({ timeout: 1 }).catch(() => {});
    await this.redis.kill();
    await this.pg.destroy();
  }
}

/** One user's socket, which moves to another pod when its own goes away, and resyncs. */
class Client {
  socket: ClientSocket | null = null;
  pod = -1;
  /** conversation id -> seq -> message, everything seen live or through sync. */
  readonly seen = new Map<number, Map<number, MessageDto>>();
  readonly jobs = new Map<string, JobDto>();
  /** Per job, the status texts that mark a restart its watcher saw ("requeued: ...", "restarted: ..."). */
  readonly restarts = new Map<string, Set<string>>();
  private connecting: Promise<ClientSocket> | null = null;
  private closed = false;
  /** Set when a pod told this client it is shutting down: go elsewhere. */
  avoidPod = -1;

  constructor(
    readonly user: TestUser,
    readonly home: number,
    readonly conversations: number[],
    private readonly cluster: FaultCluster,
    private readonly failures: Failure[],
    readonly watched: string[] = [],
  ) {
    for (const c of conversations) this.seen.set(c, new Map());
  }

  /** The connected socket, (re)connecting first if needed: home pod first, then the others. */
  ready(): Promise<ClientSocket> {
    if (this.socket?.connected) return Promise.resolve(this.socket);
    this.connecting ??= this.connect().finally(() => (this.connecting = null));
    return this.connecting;
  }

  private async connect(): Promise<ClientSocket> {
    const deadline = Date.now() + 60_000;
    for (let attempt = 0; Date.now() < deadline && !this.closed; attempt++) {
      const n = this.cluster.urls.length;
      const order = Array.from({ length: n }, (_, i) => (this.home + attempt + i) % n).filter((p) => p !== this.avoidPod || n === 1);
      const pod = order[0]!;
      try {
        const { socket } = await withTimeout(connectInbox(this.cluster.urls[pod]!, this.user.cookie), 8000, 'connect');
        this.attach(socket, pod);
        await this.catchUp(socket);
        await this.rewatch(socket);
        return socket;
      } catch (err) {
        this.failures.push({ at: Date.now(), pod, reason: `connect: ${(err as Error).message}` });
        await sleep(Math.min(1000, 100 * (attempt + 1)));
      }
    }
    throw new Error(`user ${this.user.user.id} could not reconnect`);
  }

  private attach(socket: ClientSocket, pod: number): void {
    this.socket?.close();
    this.socket = socket;
    this.pod = pod;
    socket.on('message', (m) => this.seen.get(m.conversation_id)?.set(m.seq, m));
    socket.on('job:status', (j) => this.keepJob(j));
    socket.on('disconnect', () => {
      if (this.socket === socket && !this.closed) void this.ready().catch(() => {});
    });
  }

  private keepJob(j: JobDto): void {
    if (j.status_text && /^(requeued|restarted)/.test(j.status_text)) {
      if (!this.restarts.has(j.job_id)) this.restarts.set(j.job_id, new Set());
      this.restarts.get(j.job_id)!.add(j.status_text.split(':')[0]!);
    }
    const had = this.jobs.get(j.job_id);
    if (!had || j.seq > had.seq) this.jobs.set(j.job_id, j);
  }

  /** `sync` from the highest seq seen per conversation, page by page. */
  async catchUp(socket: ClientSocket): Promise<void> {
    const cursors: Record<number, number> = {};
    for (const c of this.conversations) cursors[c] = highestContiguous(this.seen.get(c)!);
    for (let more = true; more; ) {
      const res = await request(socket, 'sync', { cursors, limit: 500 }, ACK_TIMEOUT_MS);
      if (!res.ok) throw new Error(`sync: ${res.error.code}`);
      for (const m of res.messages as MessageDto[]) {
        this.seen.get(m.conversation_id)?.set(m.seq, m);
        cursors[m.conversation_id] = Math.max(cursors[m.conversation_id] ?? 0, m.seq);
      }
      more = res.has_more;
    }
  }

  async rewatch(socket: ClientSocket): Promise<void> {
    for (const jobId of this.watched) await this.watch(socket, jobId);
  }

  async watch(socket: ClientSocket, jobId: string): Promise<void> {
    const ack = await request(socket, 'job:watch', { job_id: jobId }, ACK_TIMEOUT_MS);
    if (!ack.ok) throw new Error(`job:watch: ${ack.error.code}`);
    this.keepJob(ack.job);
  }

  close(): void {
    this.closed = true;
    this.socket?.close();
  }
}

/** Per message id: what its sender knows. */
interface Sent {
  id: string;
  conversationId: number;
  acked: MessageDto | null;
}

export interface RoundOptions {
  scale: Scale;
  log?: (line: string) => void;
}

/** Runs one round on a running cluster (and leaves it with two hubs and two workers again). */
export async function runRound(cluster: FaultCluster, fault: Fault, options: RoundOptions): Promise<RoundResult> {
  const { scale } = options;
  const log = options.log ?? (() => {});
  const failures: Failure[] = [];
  const notes: string[] = [];
  const tag = `${fault}-${Date.now().toString(36)}`;

  // Users and conversations, each pair split over the two pods.
  const pairs = await Promise.all(
    Array.from({ length: scale.pairs }, async (_, i) => {
      const [a, b] = await Promise.all([newUser(cluster.urls[0]!, { name: `A${i}` }), newUser(cluster.urls[0]!, { name: `B${i}` })]);
      const conversation = await newConversation(cluster.urls[0]!, a, b);
      return { a, b, conversationId: conversation.id, i };
    }),
  );
  const clients: Client[] = [];
  for (const p of pairs) {
    clients.push(new Client(p.a, p.i % 2, [p.conversationId], cluster, failures), new Client(p.b, (p.i + 1) % 2, [p.conversationId], cluster, failures));
  }
  await Promise.all(clients.map((c) => c.ready()));

  // Senders: every user sends at its share of the rate, retrying each id until acked.
  const sent: Sent[] = [];
  const acksLostOn = new Map<number, number>();
  let stopping = false;
  let sigtermPod = -1;
  let sigtermAt = Infinity;
  const intervalMs = (1000 * clients.length) / scale.rate;
  const senders = clients.map(async (client, k) => {
    await sleep((k * intervalMs) / clients.length);
    for (let n = 0; !stopping; n++) {
      const next = Date.now() + intervalMs;
      const item: Sent = { id: `${tag}-u${client.user.user.id}-${n}`, conversationId: client.conversations[0]!, acked: null };
      sent.push(item);
      await sendUntilAcked(client, item, failures, (pod, at) => {
        if (pod === sigtermPod && at >= sigtermAt) acksLostOn.set(pod, (acksLostOn.get(pod) ?? 0) + 1);
      });
      await sleep(Math.max(0, next - Date.now()));
    }
  });

  // Jobs, each watched by its owner (an `a` user), started just before the fault.
  await sleep(scale.beforeMs / 2);
  const owners = clients.filter((_, k) => k % 2 === 0).slice(0, scale.jobs);
  const jobIds: string[] = [];
  for (const owner of owners) {
    const res = await api(cluster.urls[owner.home]!, 'POST', '/api/jobs', {
      cookie: owner.user.cookie,
      body: { name: 'demo.steps', data: { steps: scale.steps, step_ms: scale.stepMs } },
    });
    if (res.status !== 202) throw new Error(`job: ${res.status} ${JSON.stringify(res.body)}`);
    const jobId = res.body.job.job_id as string;
    jobIds.push(jobId);
    owner.watched.push(jobId);
    await owner.watch(await owner.ready(), jobId);
  }
  // Mid-run: some steps done before the fault.
  await sleep(Math.max(scale.beforeMs / 2, Math.min(2000, (scale.steps * scale.stepMs) / 3)));

  // The fault.
  const faultAt = Date.now();
  let recoveredAt = faultAt;
  let sigtermExitMs: number | null = null;
  let sigtermExitCode: number | string | null = null;
  log(`${fault}: injecting at ${new Date(faultAt).toISOString()}`);
  switch (fault) {
    case 'redis-restart': {
      await cluster.redis.kill();
      await sleep(3000);
      await cluster.redis.start();
      recoveredAt = Date.now();
      break;
    }
    case 'postgres-restart': {
      const { downMs } = await cluster.pg.restart();
      notes.push(`postgres down ${downMs} ms`);
      recoveredAt = Date.now();
      break;
    }
    case 'worker-sigkill': {
      // The worker running the most of our jobs.
      const victim = cluster.workers[0]!;
      victim.child.kill('SIGKILL');
      await victim.exited;
      recoveredAt = Date.now();
      cluster.workers[0] = await spawnWorker(cluster.env, 150_000);
      break;
    }
    case 'hub-sigkill': {
      const victim = cluster.hubs[1]!;
      victim.child.kill('SIGKILL');
      await victim.exited;
      // Its clients move to the other pod; the replacement joins later, under traffic.
      recoveredAt = Date.now();
      cluster.hubs[1] = await cluster.spawnHub();
      break;
    }
    case 'hub-sigterm': {
      const victim = cluster.hubs[1]!;
      sigtermPod = 1;
      sigtermAt = Date.now();
      for (const c of clients) if (c.pod === 1) c.avoidPod = 1;
      victim.child.kill('SIGTERM');
      sigtermExitCode = await victim.exited;
      sigtermExitMs = Date.now() - sigtermAt;
      notes.push(`SIGTERM'd pod exited ${sigtermExitCode} after ${sigtermExitMs} ms`);
      recoveredAt = Date.now();
      cluster.hubs[1] = await cluster.spawnHub();
      for (const c of clients) c.avoidPod = -1;
      sigtermPod = -1;
      break;
    }
  }
  log(`${fault}: recovered after ${recoveredAt - faultAt} ms (processes back after ${Date.now() - faultAt} ms)`);

  // Traffic goes on past the recovery bound, then stops; everyone settles and syncs.
  await sleep(scale.afterMs);
  stopping = true;
  await Promise.all(senders);

  // Every started job ends; its watcher must have its final state.
  const jobDeadline = Date.now() + 120_000;
  let rows: { id: string; state: string; seq: number; result: unknown }[] = [];
  while (Date.now() < jobDeadline) {
    rows = await cluster.admin<{ id: string; state: string; seq: number; result: unknown }[]>`select id, state, seq, result from jobs where id in ${cluster.admin(jobIds)}`;
    if (rows.length === jobIds.length && rows.every((r) => ['completed', 'failed', 'cancelled'].includes(r.state))) break;
    await sleep(500);
  }
  const watcherOf = (jobId: string) => owners[jobIds.indexOf(jobId)]!;
  const seenFinal = (r: { id: string; seq: number }) => (watcherOf(r.id).jobs.get(r.id)?.seq ?? 0) >= r.seq;
  const watchDeadline = Date.now() + 15_000;
  while (Date.now() < watchDeadline && !rows.every(seenFinal)) await sleep(200);

  // Messages: Postgres is the truth.
  const conversationIds = pairs.map((p) => p.conversationId);
  const stored = await cluster.admin<{ conversation_id: number; seq: number; client_msg_id: string | null; id: number }[]>`
    select conversation_id, seq, client_msg_id, id from messages where conversation_id in ${cluster.admin(conversationIds)} order by conversation_id, seq`;
  for (const c of clients) {
    const socket = await c.ready();
    await c.catchUp(socket);
  }

  const byId = new Map<string, number>();
  for (const row of stored) if (row.client_msg_id) byId.set(row.client_msg_id, (byId.get(row.client_msg_id) ?? 0) + 1);
  const storedRow = new Map(stored.map((r) => [r.client_msg_id, r]));
  const acked = sent.filter((s) => s.acked);
  const lost = sent.filter((s) => !byId.has(s.id)).length;
  const duplicated = [...byId.values()].filter((n) => n > 1).length;
  const ackMismatches = acked.filter((s) => {
    const row = storedRow.get(s.id);
    return !row || row.seq !== s.acked!.seq || row.id !== s.acked!.id;
  }).length;
  let gaps = 0;
  const lastSeq = new Map<number, number>();
  for (const c of conversationIds) {
    const seqs = stored.filter((r) => r.conversation_id === c).map((r) => r.seq);
    seqs.forEach((s, i) => {
      if (s !== i + 1) gaps++;
    });
    lastSeq.set(c, seqs.length);
  }
  const incompleteClients = clients.filter((c) =>
    c.conversations.some((conv) => {
      const seen = c.seen.get(conv)!;
      return seen.size !== lastSeq.get(conv) || highestContiguous(seen) !== lastSeq.get(conv);
    }),
  ).length;

  const restarted = owners.flatMap((o) => [...o.restarts.values()].flatMap((set) => [...set]));
  if (restarted.length > 0) notes.push(`watchers saw jobs start again: ${restarted.join(', ')}`);
  for (const c of clients) c.close();
  const recoveryBound = recoveredAt + RECOVERY_BOUND_MS;
  const lateFailures = failures.filter((f) => f.at > recoveryBound);
  if (lateFailures.length > 0) notes.push(`late failures: ${JSON.stringify(lateFailures.slice(0, 5))}`);
  const lastFailure = Math.max(recoveredAt, ...failures.map((f) => f.at));
  const result: RoundResult = {
    fault,
    sent: sent.length,
    acked: acked.length,
    stored: stored.length,
    lost,
    duplicated,
    gaps,
    ackMismatches,
    incompleteClients,
    jobsCompleted: rows.filter((r) => r.state === 'completed').length,
    jobsFailed: rows.filter((r) => r.state === 'failed').length,
    jobsNotFinal: jobIds.length - rows.filter((r) => ['completed', 'failed', 'cancelled'].includes(r.state)).length,
    jobsUnseen: rows.filter((r) => !seenFinal(r)).length,
    failedRequests: failures.length,
    failedAfterRecovery: lateFailures.length,
    acksLostAtSigterm: [...acksLostOn.values()].reduce((a, b) => a + b, 0),
    faultMs: recoveredAt - faultAt,
    recoveryMs: lastFailure - recoveredAt,
    disruptionMs: failures.length === 0 ? 0 : Math.max(0, Math.max(...failures.map((f) => f.at)) - faultAt),
    sigtermExitMs,
    sigtermExitCode,
    notes,
  };
  log(`${fault}: ${JSON.stringify(result)}`);
  return result;
}

/** Sends one id until it is acked: retries refused or unanswered sends, moving pods when told to. */
async function sendUntilAcked(client: Client, item: Sent, failures: Failure[], onAckLost: (pod: number, at: number) => void): Promise<void> {
  for (let attempt = 0; !item.acked; attempt++) {
    let socket: ClientSocket;
    try {
      socket = await client.ready();
    } catch (err) {
      failures.push({ at: Date.now(), pod: -1, reason: (err as Error).message });
      continue;
    }
    const pod = client.pod;
    const at = Date.now();
    try {
      const ack = await request(socket, 'message', { conversation_id: item.conversationId, message: item.id, type: 'TEXT', client_msg_id: item.id }, ACK_TIMEOUT_MS);
      if (ack.ok) {
        item.acked = ack.message;
        client.seen.get(item.conversationId)?.set(ack.message.seq, ack.message);
        return;
      }
      failures.push({ at: Date.now(), pod, reason: `${ack.error.code}: ${ack.error.message}` });
      if (ack.error.message === SHUTTING_DOWN.message) {
        client.avoidPod = pod;
        socket.close();
      }
    } catch (err) {
      // No ack: the socket closed under the request, or the ack timed out.
      failures.push({ at: Date.now(), pod, reason: `no ack: ${(err as Error).message}` });
      onAckLost(pod, at);
    }
    await sleep(Math.min(500, 50 * 2 ** Math.min(attempt, 4)));
  }
}

function highestContiguous(seen: Map<number, unknown>): number {
  let n = 0;
  while (seen.has(n + 1)) n++;
  return n;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/** One line per round, for the report. */
export function formatRound(r: RoundResult): string {
  return [
    r.fault.padEnd(17),
    `acked ${r.acked}/${r.sent}`,
    `stored ${r.stored}`,
    `lost ${r.lost}`,
    `dup ${r.duplicated}`,
    `gaps ${r.gaps}`,
    `jobs ${r.jobsCompleted} completed / ${r.jobsFailed} failed`,
    `fault ${(r.faultMs / 1000).toFixed(1)} s`,
    `errors seen for ${(r.disruptionMs / 1000).toFixed(1)} s`,
    `recovery ${(r.recoveryMs / 1000).toFixed(1)} s`,
    `failed requests ${r.failedRequests} (${r.failedAfterRecovery} late)`,
    r.fault === 'hub-sigterm' ? `acks lost ${r.acksLostAtSigterm}, exit ${r.sigtermExitCode} in ${r.sigtermExitMs} ms` : '',
    r.notes.filter((n) => !n.startsWith('SIGTERM')).join('; '),
  ]
    .filter(Boolean)
    .join(' | ');
}

/** A round's verdict, as one object: every count that must be zero, and the jobs that must have completed. */
export function verdict(r: RoundResult, _jobs: number) {
  return {
    lost: r.lost,
    duplicated: r.duplicated,
    gaps: r.gaps,
    ackMismatches: r.ackMismatches,
    incompleteClients: r.incompleteClients,
    everySentAcked: r.acked === r.sent,
    storedEqualsAcked: r.stored === r.acked,
    jobsCompleted: r.jobsCompleted,
    jobsUnseen: r.jobsUnseen,
    failedAfterRecovery: r.failedAfterRecovery,
    acksLostAtSigterm: r.acksLostAtSigterm,
    sigtermExitCode: r.fault === 'hub-sigterm' ? r.sigtermExitCode : 0,
  };
}

export const PASSED = (jobs: number) => ({
  lost: 0,
  duplicated: 0,
  gaps: 0,
  ackMismatches: 0,
  incompleteClients: 0,
  everySentAcked: true,
  storedEqualsAcked: true,
  jobsCompleted: jobs,
  jobsUnseen: 0,
  failedAfterRecovery: 0,
  acksLostAtSigterm: 0,
  sigtermExitCode: 0,
});
