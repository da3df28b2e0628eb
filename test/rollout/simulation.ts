import postgres from 'postgres';
import { inject } from 'vitest';
import { createInboxClient, type InboxClient, type InboxClientError } from '@inbox-hub/client';
import type { MessageDto } from '../../src/realtime/protocol.js';
import { spawnHubPatiently } from '../faults/fault-helpers.js';
import { newConversation, newUser, type TestUser } from '../helpers/http.js';
import { pollUntil, type ChildService } from '../helpers/processes.js';
import { Balancer } from './balancer.js';

/**
 * A rolling update of the hub, simulated with real processes: POD_COUNT hub pods behind a
 * round-robin balancer (the Service), clients spread over them by it, every client sending
 * at a steady pace with a client_msg_id and retrying a failed or unanswered send with the
 * same id (as the typed client's `send` allows). The pods are replaced one at a time (out of
 * rotation, SIGTERM, wait for the exit, start a new one, into rotation) while the traffic
 * flows; afterwards every acknowledged message must be stored once and every client must
 * hold its conversation complete, in order, without a duplicate.
 */
const HUB_START_MS = 180_000;

export interface RolloutOptions {
  pods: number;
  /** Conversations; each has two clients, both sending. */
  pairs: number;
  /** Pause between two sends of one client (its next send starts when the last one is acked, at the earliest). */
  sendEveryMs: number;
  /** Steady traffic before the first pod is stopped: the "before" latency. */
  warmupMs: number;
  /** Steady traffic after the last new pod is in rotation. */
  tailMs: number;
  /**
   * true: a pod leaves the rotation before its SIGTERM, as a terminating pod's endpoint is
   * removed during its preStop sleep. false: only once it has exited (no preStop), so new
   * connections may still reach a pod that is closing.
   */
  drainFirst: boolean;
  log?: (line: string) => void;
}

export interface Percentiles {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

export interface StepReport {
  /** ms from the SIGTERM to the process's exit, and its exit code. */
  stopMs: number;
  exit: number | string;
  /** ms from the exit until the new pod answered /readyz. */
  startMs: number;
  /** Client connections the stopped pod held when it was stopped. */
  clientsMoved: number;
}

export interface RolloutReport {
  pods: number;
  clients: number;
  /** Distinct messages (client_msg_ids) sent and acknowledged. */
  sent: number;
  acked: number;
  /** Send attempts, retries included, and how many messages needed more than one. */
  attempts: number;
  retried: number;
  /** Failed attempts by reason: `timeout` (no ack, or the connection dropped), else the error code. */
  failedAttempts: Record<string, number>;
  /** Retried messages whose first attempt had been stored (its ack was lost); the retry returned that row. */
  storedBeforeRetry: number;
  /** Rows in Postgres for the conversations, and their distinct client_msg_ids. */
  storedRows: number;
  storedIds: number;
  /** Acknowledged messages missing from Postgres or from a member's client after sync. */
  lost: number;
  /** Rows stored twice for one client_msg_id, a seq or a client_msg_id handed to one client twice, or an ack naming another row than the one delivered. */
  duplicated: number;
  /** Clients whose conversation is not seqs 1..N with every acknowledged message once. */
  incompleteClients: number;
  reconnects: number;
  /**
   * Send -> delivery at the other member's client (first attempt to receipt, retries and sync
   * included): before the rollout (the second half of the warm-up), during it, and after it.
   */
  deliveryBefore: Percentiles;
  deliveryDuring: Percentiles;
  deliveryAfter: Percentiles;
  /** First attempt -> successful ack, during the rollout. */
  ackDuring: Percentiles;
  rolloutMs: number;
  steps: StepReport[];
  /** Connections each pod accepted over the run, original pods first. */
  connectionsPerPod: number[];
}

interface SendRecord {
  id: string;
  conversationId: number;
  firstAt: number;
  attempts: number;
  ackAt?: number;
  ackedRow?: MessageDto;
  lastAttemptAt: number;
}

class SimClient {
  readonly inbox: InboxClient;
  readonly delivered: MessageDto[] = [];
  /** client_msg_id -> when this client first received it from its peer. */
  readonly receivedAt = new Map<string, number>();
  reconnects = 0;

  constructor(
    readonly name: string,
    readonly user: TestUser,
    readonly conversationId: number,
    url: string,
  ) {
    this.inbox = createInboxClient(url, {
      extraHeaders: { cookie: user.cookie },
      transports: ['websocket'],
      ackTimeoutMs: 5000,
      reconnectionDelay: 200,
      reconnectionDelayMax: 1000,
    });
    this.inbox.on('message', (m) => {
      this.delivered.push(m);
      if (m.sender_id !== String(user.user.id) && m.client_msg_id && !this.receivedAt.has(m.client_msg_id)) {
        this.receivedAt.set(m.client_msg_id, Date.now());
      }
    });
    this.inbox.on('status', (s) => {
      if (s === 'reconnecting') this.reconnects++;
    });
    // Failed requests are counted by the sender loop; connect errors during a pod's exit are expected.
    this.inbox.on('error', () => {});
  }

  get connected(): boolean {
    return this.inbox.status === 'live' || this.inbox.status === 'syncing';
  }
}

export async function runRollout(options: RolloutOptions): Promise<RolloutReport> {
  const log = options.log ?? (() => {});
  const env = { MESSAGE_RATE_LIMIT: '100000', MAX_SOCKETS_PER_USER: '100' };
  // Generous: three pods start at once, and a shared 2-core box took up to 68 s for one.
  const pods: ChildService[] = await Promise.all(Array.from({ length: options.pods }, () => spawnHubPatiently(env, HUB_START_MS)));
  const replacements: ChildService[] = [];
  const balancer = await Balancer.start();
  for (const pod of pods) balancer.add(pod.port);
  const clients: SimClient[] = [];
  // Set when the run fails half-way: the send loops stop at once instead of retrying.
  const abort = { aborted: false };
  let loops: Promise<void>[] = [];
  const sql = postgres(inject('databaseUrl'), { max: 1, onnotice: () => {} });
  try {
    for (let i = 0; i < options.pairs; i++) {
      const [ann, bob] = await Promise.all([newUser(pods[0]!.url), newUser(pods[0]!.url)]);
      const conv = await newConversation(pods[0]!.url, ann, bob);
      clients.push(new SimClient(`c${i}a`, ann, conv.id, balancer.url), new SimClient(`c${i}b`, bob, conv.id, balancer.url));
    }
    await Promise.all(clients.map((c) => c.inbox.ready()));
    await pollUntil(async () => clients.every((c) => c.inbox.status === 'live'), 'every client live', 30_000);
    log(`${clients.length} clients over ${pods.length} pods: ${pods.map((p) => balancer.accepted.get(p.port) ?? 0).join(' / ')} connections`);

    const sends = new Map<string, SendRecord>();
    const failedAttempts: Record<string, number> = {};
    let stopping = false;
    loops = clients.map((c) => sendLoop(c, sends, failedAttempts, options.sendEveryMs, () => stopping, abort));

    await waitMs(options.warmupMs);
    const rolloutStart = Date.now();
    const steps: StepReport[] = [];
    for (const pod of pods) {
      const held = balancer.openTo(pod.port);
      if (options.drainFirst) balancer.remove(pod.port);
      const stopAt = Date.now();
      const exit = await pod.stop('SIGTERM');
      const exitedAt = Date.now();
      if (!options.drainFirst) balancer.remove(pod.port);
      const fresh = await spawnHubPatiently(env, HUB_START_MS);
      replacements.push(fresh);
      balancer.add(fresh.port);
      steps.push({ stopMs: exitedAt - stopAt, exit, startMs: Date.now() - exitedAt, clientsMoved: held });
      log(`pod ${pods.indexOf(pod) + 1}: SIGTERM -> exit ${String(exit)} in ${exitedAt - stopAt} ms, new pod ready in ${Date.now() - exitedAt} ms`);
      // The next pod is stopped once the moved clients are connected and caught up again.
      await pollUntil(async () => clients.every((c) => c.inbox.status === 'live'), 'every client live again', 30_000);
    }
    const rolloutEnd = Date.now();
    await waitMs(options.tailMs);
    stopping = true;
    await Promise.all(loops);

    // Everyone catches up (the typed client syncs after every reconnect and on a gap).
    const expected = expectedByConversation(sends);
    const complete = (c: SimClient) => c.delivered.length >= (expected.get(c.conversationId)?.size ?? 0);
    for (const c of clients) c.inbox.sync();
    await pollUntil(async () => clients.every(complete), 'every client complete after sync', 30_000).catch(() => {});

    const rows = await sql<{ conversation_id: number; client_msg_id: string | null; id: number }[]>`
      select conversation_id, client_msg_id, id from messages where conversation_id in ${sql([...expected.keys()])}`;
    return summarize({ options, clients, sends, failedAttempts, rows, expected, rolloutStart, rolloutEnd, steps, balancer, pods, replacements });
  } finally {
    abort.aborted = true;
    await Promise.allSettled(loops);
    for (const c of clients) c.inbox.close();
    await balancer.close();
    await sql.end();
    await Promise.all([...pods, ...replacements].map((p) => p.stop('SIGKILL')));
  }
}

/** One client's traffic: a message every `everyMs`, each retried with its client_msg_id until acknowledged. */
async function sendLoop(
  c: SimClient,
  sends: Map<string, SendRecord>,
  failed: Record<string, number>,
  everyMs: number,
  stopping: () => boolean,
  abort: { aborted: boolean },
): Promise<void> {
  for (let n = 0; !stopping() && !abort.aborted; n++) {
    const rec: SendRecord = { id: `${c.name}-${n}`, conversationId: c.conversationId, firstAt: Date.now(), attempts: 0, lastAttemptAt: 0 };
    sends.set(rec.id, rec);
    while (rec.ackAt === undefined) {
      if (!c.connected) await pollUntil(async () => c.connected || abort.aborted, `${c.name} reconnected`, 30_000, 20);
      if (abort.aborted) return;
      rec.attempts++;
      rec.lastAttemptAt = Date.now();
      try {
        // The client's outbox re-sends by itself across reconnections (same client_msg_id) and
        // settles `sent` once stored; it rejects only on a final refusal, retried here.
        rec.ackedRow = await c.inbox.send(c.conversationId, rec.id, { clientMsgId: rec.id }).sent;
        rec.ackAt = Date.now();
      } catch (err) {
        const code = (err as InboxClientError).code ?? 'other';
        failed[code] = (failed[code] ?? 0) + 1;
        if (rec.attempts >= 30) throw new Error(`${rec.id}: not acknowledged after 30 attempts (last: ${code})`);
        // Connected but refused (unavailable): a short pause before the retry.
        if (c.connected) await waitMs(100);
      }
    }
    await waitMs(Math.max(0, rec.firstAt + everyMs - Date.now()));
  }
}

function expectedByConversation(sends: Map<string, SendRecord>): Map<number, Set<string>> {
  const byConv = new Map<number, Set<string>>();
  for (const rec of sends.values()) {
    if (rec.ackAt === undefined) continue;
    let ids = byConv.get(rec.conversationId);
    if (!ids) byConv.set(rec.conversationId, (ids = new Set()));
    ids.add(rec.id);
  }
  return byConv;
}

interface Run {
  options: RolloutOptions;
  clients: SimClient[];
  sends: Map<string, SendRecord>;
  failedAttempts: Record<string, number>;
  rows: { conversation_id: number; client_msg_id: string | null; id: number }[];
  expected: Map<number, Set<string>>;
  rolloutStart: number;
  rolloutEnd: number;
  steps: StepReport[];
  balancer: Balancer;
  pods: ChildService[];
  replacements: ChildService[];
}

function summarize(run: Run): RolloutReport {
  const { clients, sends, rows, expected } = run;
  const records = [...sends.values()];
  const acked = records.filter((r) => r.ackAt !== undefined);
  const storedIds = new Set(rows.map((r) => r.client_msg_id));
  const rowById = new Map(rows.map((r) => [r.client_msg_id, r.id]));

  let lost = acked.filter((r) => !storedIds.has(r.id)).length;
  // A row per client_msg_id (the table's unique key says so too), and no row we did not send.
  let duplicated = rows.length - storedIds.size + rows.filter((r) => r.client_msg_id === null || !sends.has(r.client_msg_id)).length;
  // The ack of every message, retried or not, names the one stored row.
  duplicated += acked.filter((r) => r.ackedRow!.id !== rowById.get(r.id)).length;

  let incomplete = 0;
  for (const c of clients) {
    const want = expected.get(c.conversationId) ?? new Set<string>();
    const seqs = c.delivered.map((m) => m.seq);
    const ids = c.delivered.map((m) => m.client_msg_id);
    const inOrder = seqs.every((s, i) => s === i + 1);
    const dupIds = ids.length - new Set(ids).size;
    const missing = [...want].filter((id) => !ids.includes(id)).length;
    duplicated += dupIds + (seqs.length - new Set(seqs).size);
    lost += missing;
    if (!inOrder || missing > 0 || dupIds > 0 || c.delivered.length !== want.size) incomplete++;
  }

  const during = (r: SendRecord) => r.firstAt >= run.rolloutStart && r.firstAt <= run.rolloutEnd;
  const deliveries = (pick: (r: SendRecord) => boolean) =>
    acked.filter(pick).flatMap((r) => {
      const receiver = clients.find((c) => c.conversationId === r.conversationId && !r.id.startsWith(`${c.name}-`));
      const at = receiver?.receivedAt.get(r.id);
      return at === undefined ? [] : [at - r.firstAt];
    });
  const retried = acked.filter((r) => r.attempts > 1);
  const storedBeforeRetry = retried.filter((r) => {
    // The peer had the message before the last attempt was sent: an earlier attempt stored it.
    const receiver = clients.find((c) => c.conversationId === r.conversationId && !r.id.startsWith(`${c.name}-`));
    const at = receiver?.receivedAt.get(r.id);
    return at !== undefined && at < r.lastAttemptAt;
  }).length;

  return {
    pods: run.options.pods,
    clients: clients.length,
    sent: records.length,
    acked: acked.length,
    attempts: records.reduce((n, r) => n + r.attempts, 0),
    retried: retried.length,
    failedAttempts: run.failedAttempts,
    storedBeforeRetry,
    storedRows: rows.length,
    storedIds: storedIds.size,
    lost,
    duplicated,
    incompleteClients: incomplete,
    reconnects: clients.reduce((n, c) => n + c.reconnects, 0),
    deliveryBefore: percentiles(deliveries((r) => r.firstAt < run.rolloutStart && r.firstAt >= run.rolloutStart - run.options.warmupMs / 2)),
    deliveryDuring: percentiles(deliveries(during)),
    deliveryAfter: percentiles(deliveries((r) => r.firstAt > run.rolloutEnd)),
    ackDuring: percentiles(acked.filter(during).map((r) => r.ackAt! - r.firstAt)),
    rolloutMs: run.rolloutEnd - run.rolloutStart,
    steps: run.steps,
    connectionsPerPod: [...run.pods, ...run.replacements].map((p) => run.balancer.accepted.get(p.port) ?? 0),
  };
}

export function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;
  return { count: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] ?? NaN };
}

/** One line per figure, for the test's output and the closing note. */
export function formatReport(r: RolloutReport): string {
  const p = (x: Percentiles) => `p50 ${x.p50} ms, p99 ${x.p99} ms, max ${x.max} ms (${x.count})`;
  return [
    `${r.pods} pods replaced one at a time in ${(r.rolloutMs / 1000).toFixed(1)} s, ${r.clients} clients, connections per pod (old, then new): ${r.connectionsPerPod.join(' / ')}`,
    `steps: ${r.steps.map((s) => `exit ${String(s.exit)} after ${s.stopMs} ms, new pod ready after ${s.startMs} ms`).join('; ')}`,
    `messages: ${r.sent} sent, ${r.acked} acked, ${r.attempts} attempts, ${r.retried} retried (${r.storedBeforeRetry} of them already stored: ack lost), failed attempts ${JSON.stringify(r.failedAttempts)}`,
    `stored: ${r.storedRows} rows, ${r.storedIds} distinct client_msg_ids; lost ${r.lost}, duplicated ${r.duplicated}, incomplete clients ${r.incompleteClients}, reconnects ${r.reconnects}`,
    `delivery before the rollout (second half of the warm-up): ${p(r.deliveryBefore)}`,
    `delivery during the rollout: ${p(r.deliveryDuring)}`,
    `delivery after the rollout: ${p(r.deliveryAfter)}`,
    `ack during the rollout (retries included): ${p(r.ackDuring)}`,
  ].join('\n');
}

function waitMs(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
