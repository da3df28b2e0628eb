import postgres from 'postgres';
import { io, type Socket } from 'socket.io-client';
import { sleep, type Service } from '../lib/services.js';
import { percentiles, type Percentiles } from '../lib/stats.js';
import type { Target } from '../lib/targets.js';

interface Chunk {
  offset: number;
  data: string;
}

export interface OutputPhase {
  /** Whether one watcher of each job reconnected every `reconnectEveryMs`. */
  reconnectEveryMs: number | null;
  jobs: number;
  watchers: number;
  tokensPerJob: number;
  tokenMs: number;
  /** Token write (the worker's schedule) to a watcher's receipt; see runOutput. */
  latency: Percentiles;
  /** The most `job:output` events one watcher got for one job within any 1 s window. */
  maxEventsPerSecond: number;
  /** Mean chunks per `job:output` event. */
  chunksPerEvent: number;
  /** Offsets a watcher never got, and offsets handed on twice (after the client's rule), over all watchers. */
  missing: number;
  duplicated: number;
  /** Chunks that came both in an ack and as an event (allowed; the client drops them). */
  overlap: number;
  reconnects: number;
  /** job_output rows and bytes (the table and its index) per 1,000 tokens. */
  rowsPer1000: number;
  bytesPer1000: number;
  completed: number;
}

export interface OutputResult {
  skipped: string | null;
  phases: OutputPhase[];
}

export interface OutputOptions {
  jobs: number;
  tokensPerS: number;
  durationS: number;
  watchersPerJob: number;
  reconnectEveryMs: number;
  log(line: string): void;
}

/** One watcher socket of one job: keeps the chunks that continue the output, as the typed client does. */
class Watcher {
  socket: Socket | null = null;
  next = 0;
  readonly received = new Map<number, number>();
  /** The job's `active` write (epoch ms), from the first job:status saying it started. */
  startedAt: number | null = null;
  readonly eventTimes: number[] = [];
  events = 0;
  chunksInEvents = 0;
  duplicated = 0;
  overlap = 0;
  reconnects = 0;
  completed = false;

  constructor(
    private readonly url: string,
    private readonly cookie: string,
    readonly jobId: string,
  ) {}

  async open(): Promise<void> {
    const socket = io(`${this.url}/inbox`, { extraHeaders: { cookie: this.cookie }, transports: ['websocket'], reconnection: false, forceNew: true });
    await new Promise<void>((resolve, reject) => {
      socket.once('ready', () => resolve());
      socket.once('connect_error', reject);
    });
    socket.on('job:output', ({ job_id, chunks }: { job_id: string; chunks: Chunk[] }) => {
      if (job_id !== this.jobId) return;
      this.events++;
      this.chunksInEvents += chunks.length;
      this.eventTimes.push(performance.now());
      if (!this.keep(chunks)) void this.watch(socket).catch(() => {});
    });
    socket.on('job:status', (job: { job_id: string; state: string; status_text: string | null; updated_at: string }) => {
      if (job.job_id !== this.jobId) return;
      if (job.state === 'active' && job.status_text === 'started' && this.startedAt === null) this.startedAt = Date.parse(job.updated_at);
      if (job.state === 'completed') this.completed = true;
    });
    this.socket = socket;
    await this.watch(socket);
  }

  async reconnect(): Promise<void> {
    this.socket?.close();
    this.reconnects++;
    await this.open();
  }

  close(): void {
    this.socket?.close();
  }

  private async watch(socket: Socket): Promise<void> {
    const ack = await socket.timeout(10_000).emitWithAck('job:watch', { job_id: this.jobId, output_from: this.next });
    // An ack that came to a socket this watcher has since closed is stale.
    if (socket !== this.socket) return;
    if (!ack.ok) throw new Error(`job:watch: ${JSON.stringify(ack.error)}`);
    if (ack.job.state === 'completed') this.completed = true;
    this.keep(ack.output as Chunk[], true);
    if (ack.output_has_more) await this.watch(socket);
  }

  /** False when a chunk skipped ahead: the caller watches again from `next`. */
  private keep(chunks: Chunk[], fromAck = false): boolean {
    const now = Date.now();
    for (const c of chunks) {
      if (c.offset < this.next) {
        if (this.received.has(c.offset)) this.overlap++;
        continue;
      }
      if (c.offset > this.next) return false;
      if (this.received.has(c.offset)) this.duplicated++;
      // Chunks from an ack were stored before the watch: only live ones count for latency.
      this.received.set(c.offset, fromAck ? Number.NaN : now);
      this.next = c.offset + 1;
    }
    return true;
  }
}

async function enqueue(url: string, cookie: string, tokens: number, tokenMs: number): Promise<string> {
  const res = await fetch(`${url}/api/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie, 'sec-fetch-site': 'same-origin' },
    body: JSON.stringify({ name: 'demo.stream', data: { tokens, token_ms: tokenMs } }),
    signal: AbortSignal.timeout(10_000),
  });
  if (res.status !== 202) throw new Error(`POST /api/jobs: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { job: { job_id: string } }).job.job_id;
}

const maxInWindow = (times: readonly number[], windowMs: number) => {
  let best = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
};

/**
 * `demo.stream` jobs run by a real worker, each watched by `watchersPerJob` sockets of its owner.
 * demo.stream writes token i at its start + (i + 1) x token_ms (it keeps to a schedule, not to
 * sleeps), so the write time of each chunk is known: latency = receipt - (the job's `active`
 * updated_at + (offset + 1) x token_ms), worker and bench on one clock; it counts the batching
 * wait (up to 50 ms), the store, the Redis publish, the hub's relay and the client.
 */
async function phase(hub: Target, startWorker: () => Promise<Service>, sql: postgres.Sql, o: OutputOptions, reconnectEveryMs: number | null): Promise<OutputPhase> {
  const tokenMs = Math.round(1000 / o.tokensPerS);
  const tokens = Math.max(1, Math.min(5000, Math.round((o.durationS * 1000) / tokenMs)));
  const url = hub.pods[0]!.url;
  const owners = Array.from({ length: o.jobs }, (_, j) => hub.seed.users[j % hub.seed.users.length]!);
  const [before] = await sql<{ bytes: number; rows: number }[]>`
    select pg_total_relation_size('job_output')::float8 as bytes, (select count(*) from job_output)::float8 as rows`;
  const jobIds = await Promise.all(owners.map((u) => enqueue(url, u.cookie, tokens, tokenMs)));
  const watchers = jobIds.flatMap((jobId, j) => Array.from({ length: o.watchersPerJob }, () => new Watcher(url, owners[j]!.cookie, jobId)));
  await Promise.all(watchers.map((w) => w.open()));
  // The worker starts once every watch is in place, so each watcher sees its job start.
  const worker = await startWorker();
  o.log(`  ${o.jobs} jobs x ${tokens} tokens every ${tokenMs} ms, ${watchers.length} watchers${reconnectEveryMs ? `, one per job reconnecting every ${reconnectEveryMs} ms` : ''}`);
  const reconnecting = reconnectEveryMs ? watchers.filter((_, i) => i % o.watchersPerJob === 0) : [];
  const deadline = Date.now() + tokens * tokenMs + 60_000;
  // Bounded by the deadline: until every watcher holds every token and saw the job complete.
  let lastReconnect = Date.now();
  while (Date.now() < deadline && !watchers.every((w) => w.completed && w.next >= tokens)) {
    await sleep(100);
    if (reconnectEveryMs && Date.now() - lastReconnect >= reconnectEveryMs) {
      lastReconnect = Date.now();
      await Promise.all(reconnecting.filter((w) => !w.completed).map((w) => w.reconnect()));
    }
  }
  for (const w of watchers) w.close();
  await worker.stop();
  const [after] = await sql<{ bytes: number; rows: number }[]>`
    select pg_total_relation_size('job_output')::float8 as bytes, (select count(*) from job_output)::float8 as rows`;
  const latencies: number[] = [];
  const startOf = new Map<string, number>();
  for (const w of watchers) if (w.startedAt !== null) startOf.set(w.jobId, Math.min(w.startedAt, startOf.get(w.jobId) ?? Infinity));
  for (const w of watchers) {
    const start = startOf.get(w.jobId);
    if (start === undefined) continue;
    for (const [offset, at] of w.received) if (Number.isFinite(at)) latencies.push(at - (start + (offset + 1) * tokenMs));
  }
  const totalTokens = tokens * o.jobs;
  return {
    reconnectEveryMs,
    jobs: o.jobs,
    watchers: watchers.length,
    tokensPerJob: tokens,
    tokenMs,
    latency: percentiles([Float64Array.from(latencies)]),
    maxEventsPerSecond: Math.max(...watchers.map((w) => maxInWindow(w.eventTimes, 1000))),
    chunksPerEvent: watchers.reduce((s, w) => s + w.chunksInEvents, 0) / Math.max(1, watchers.reduce((s, w) => s + w.events, 0)),
    missing: watchers.reduce((s, w) => s + Math.max(0, tokens - w.received.size), 0),
    duplicated: watchers.reduce((s, w) => s + w.duplicated, 0),
    overlap: watchers.reduce((s, w) => s + w.overlap, 0),
    reconnects: watchers.reduce((s, w) => s + w.reconnects, 0),
    rowsPer1000: ((after!.rows - before!.rows) * 1000) / totalTokens,
    bytesPer1000: ((after!.bytes - before!.bytes) * 1000) / totalTokens,
    completed: watchers.filter((w) => w.completed).length,
  };
}

/** Two phases, each with a fresh worker: steady watchers, then one watcher per job reconnecting every `reconnectEveryMs`. */
export async function runOutput(hub: Target, startWorker: () => Promise<Service>, o: OutputOptions): Promise<OutputResult> {
  const sql = postgres(hub.store!.databaseUrl, { max: 2, onnotice: () => {} });
  try {
    return { skipped: null, phases: [await phase(hub, startWorker, sql, o, null), await phase(hub, startWorker, sql, o, o.reconnectEveryMs)] };
  } finally {
    await sql.end();
  }
}
