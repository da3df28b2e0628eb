import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageDto } from '../../src/realtime/protocol.js';
import { newConversation, newUser, type TestUser } from '../helpers/http.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/private-redis.js';
import type { ChildService } from '../helpers/processes.js';
import { collect, connectInbox, request, waitFor, type ClientSocket } from '../helpers/sockets.js';
import { expectAlive, readyz, spawnHubPatiently } from './fault-helpers.js';

// Two hub processes over a Redis of their own, which this test kills and starts again;
// Postgres is this run's shared test database and stays up.
let redis: PrivateRedis;
let podA: ChildService;
let podB: ChildService;
let ann: TestUser;
let bob: TestUser;
let conversationId: number;
const sockets: ClientSocket[] = [];

beforeAll(async () => {
  redis = await startPrivateRedis();
  const env = { REDIS_URL: redis.url, MESSAGE_RATE_LIMIT: '1000' };
  [podA, podB] = await Promise.all([spawnHubPatiently(env), spawnHubPatiently(env)]);
  [ann, bob] = await Promise.all([newUser(podA.url, { name: 'Ann' }), newUser(podA.url, { name: 'Bob' })]);
  conversationId = (await newConversation(podA.url, ann, bob)).id;
}, 90_000);

afterAll(async () => {
  for (const s of sockets) s.close();
  await Promise.all([podA?.stop('SIGKILL'), podB?.stop('SIGKILL')]);
  await redis?.kill();
});

async function inbox(pod: ChildService, user: TestUser) {
  const { socket } = await connectInbox(pod.url, user.cookie);
  sockets.push(socket);
  return socket;
}

const send = (socket: ClientSocket, text: string) =>
  request(socket, 'message', { conversation_id: conversationId, message: text, type: 'TEXT', client_msg_id: text });

const ids = (messages: MessageDto[]) => messages.map((m) => m.client_msg_id);

/** Adapter subscribers (one per pod) (re)subscribed to their namespaces' patterns, from Redis' own view. */
async function subscribedAdapters(): Promise<number> {
  const clients = (await redis.cli('client', 'list')).split('\n');
  return clients.filter((c) => / name=hub-adapter-sub /.test(c) && / psub=[1-9]/.test(c)).length;
}

async function syncAll(socket: ClientSocket, after: number): Promise<MessageDto[]> {
  const out: MessageDto[] = [];
  for (let cursor = after, more = true; more; ) {
    const res = await request(socket, 'sync', { cursors: { [conversationId]: cursor }, limit: 50 });
    expect(res.ok).toBe(true);
    out.push(...res.messages);
    more = res.has_more;
    cursor = Math.max(cursor, ...res.messages.map((m: MessageDto) => m.seq));
  }
  return out;
}

const redisDown = {
  status: 503,
  body: { error: { code: 'unavailable', message: 'Not ready: redis not answering' }, postgres: 'up', redis: 'down' },
};

describe('Redis killed under two running hubs', () => {
  it('no crash; same-pod delivery and new sockets keep working; on return the adapter heals and sync recovers the rest', async () => {
    const annA = await inbox(podA, ann);
    const bobA = await inbox(podA, bob);
    const bobB = await inbox(podB, bob);
    // Everyone has the baseline before the collectors start, so they see only what follows.
    const baseline = [annA, bobA, bobB].map((s) => waitFor(s, 'message', (m) => m.client_msg_id === 'before-kill'));
    const before = await send(annA, 'before-kill');
    expect(await Promise.all(baseline)).toEqual([before.message, before.message, before.message]);
    const bobASaw = collect(bobA, 'message');
    const bobBSaw = collect(bobB, 'message');
    const annASaw = collect(annA, 'message');

    await redis.kill();
    await expect.poll(() => readyz(podA.url), { timeout: 10_000, interval: 100 }).toEqual(redisDown);
    await expect.poll(() => readyz(podB.url), { timeout: 10_000, interval: 100 }).toEqual(redisDown);

    // Same pod: stored in Postgres, delivered by the local adapter, acked as usual.
    const during = ['during-1', 'during-2', 'during-3'];
    for (const text of during) {
      expect(await send(annA, text)).toEqual({ ok: true, message: expect.objectContaining({ client_msg_id: text }) });
    }
    await expect.poll(() => ids(bobASaw), { timeout: 5000 }).toEqual(during);
    // Sessions live in Postgres, so a new socket still connects to a pod while Redis is down.
    const annA2 = await inbox(podA, ann);
    const fromB = await send(bobB, 'from-pod-b-during');
    expect(fromB.ok).toBe(true);
    await expect.poll(() => ids(bobBSaw), { timeout: 5000 }).toContain('from-pod-b-during');

    await redis.start();
    await expect.poll(async () => (await readyz(podA.url)).status, { timeout: 15_000, interval: 100 }).toBe(200);
    await expect.poll(async () => (await readyz(podB.url)).status, { timeout: 15_000, interval: 100 }).toBe(200);
    await expect.poll(subscribedAdapters, { timeout: 15_000, interval: 100 }).toBe(2);

    // Cross-pod delivery is back, both ways, without restarting anything.
    const toBobB = waitFor(bobB, 'message', (m) => m.client_msg_id === 'after-restart');
    const after = await send(annA2, 'after-restart');
    expect(await toBobB).toEqual(after.message);
    const toAnnA = waitFor(annA, 'message', (m) => m.client_msg_id === 'reply-after-restart');
    const reply = await send(bobB, 'reply-after-restart');
    expect(await toAnnA).toEqual(reply.message);

    // Whatever a socket missed while pods could not talk, sync returns: every seq from the
    // outage on, exactly once; what came live came once and in order (the adapter's
    // publisher drops, rather than replays, what it could not publish during the outage).
    const expected = ['during-1', 'during-2', 'during-3', 'from-pod-b-during', 'after-restart', 'reply-after-restart'];
    for (const [socket, saw] of [[bobB, bobBSaw], [annA, annASaw]] as const) {
      const live = saw.map((m) => m.seq);
      expect(live).toEqual([...new Set(live)].sort((a, b) => a - b));
      const bySeq = new Map<number, MessageDto>();
      for (const m of [...saw, ...(await syncAll(socket, before.message.seq))]) bySeq.set(m.seq, m);
      const seqs = [...bySeq.keys()].sort((a, b) => a - b);
      expect(seqs).toEqual(expected.map((_, i) => before.message.seq + 1 + i));
      expect(seqs.map((s) => bySeq.get(s)!.client_msg_id)).toEqual(expected);
    }

    expectAlive(podA);
    expectAlive(podB);
    expect(podA.output()).toContain('adapter redis error');
    expect(await podA.stop('SIGTERM')).toBe(0);
  }, 60_000);

  // Known failure, kept visible: the adapter's clients are closed with quit(), which waits
  // forever behind io.close()'s queued UNSUBSCRIBEs, so the pod only ends at the shutdown
  // deadline (10 s, exit 1). Closing them with closeRedis in http/plugins/socket-io.ts fixes
  // it (test/faults/README.md); then this becomes a plain `it`.
  it('SIGTERM during a Redis outage: the pod closes promptly and exits 0', async () => {
    await redis.kill();
    await expect.poll(() => readyz(podB.url), { timeout: 10_000, interval: 100 }).toEqual(redisDown);
    const started = Date.now();
    expect(await podB.stop('SIGTERM')).toBe(0);
    expect(Date.now() - started).toBeLessThan(3000);
  }, 30_000);
});
