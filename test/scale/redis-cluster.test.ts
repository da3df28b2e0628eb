import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, newConversation, newUser } from '../helpers/http.js';
import { pollUntil, spawnHub, type ChildService } from '../helpers/processes.js';
import { spawnWorker } from '../helpers/worker-process.js';
import { expectJobStreamsAcrossPods } from './job-across-pods.js';
import { startRedisCluster, type PrivateRedisCluster } from '../helpers/redis-cluster.js';
import { collect, connectInbox, request, waitFor, type ClientSocket } from '../helpers/sockets.js';

// Two hub processes over a private 3-master Redis Cluster: sharded pub/sub carries the rooms.
let cluster: PrivateRedisCluster;
let podA: ChildService;
let podB: ChildService;
let worker: ChildService;
const sockets: ClientSocket[] = [];
beforeAll(async () => {
  cluster = await startRedisCluster();
  // Presence with a short grace period (1 s instead of 10 s) and lease (3 s instead of 45 s).
  const env = { REDIS_CLUSTER_NODES: cluster.env, PRESENCE_GRACE_MS: '1000', SOCKET_LEASE_MS: '3000' };
  [podA, podB, worker] = await Promise.all([spawnHub(env), spawnHub(env), spawnWorker(env)]);
}, 120_000);
afterAll(async () => {
  for (const s of sockets) s.close();
  await Promise.all([podA?.stop(), podB?.stop(), worker?.stop()]);
  await cluster?.stop();
});

async function inboxOn(pod: ChildService, cookie: string) {
  const { socket } = await connectInbox(pod.url, cookie);
  sockets.push(socket);
  return socket;
}

describe('Redis Cluster (sharded adapter)', () => {
  it('carries messages, conversation:new and logout between pods', async () => {
    const [ann, bob] = await Promise.all([newUser(podA.url), newUser(podB.url)]);
    const annA = await inboxOn(podA, ann.cookie);
    const bobB = await inboxOn(podB, bob.cookie);
    const news = waitFor(bobB, 'conversation:new');
    const created = await api(podA.url, 'POST', '/api/conversations', { cookie: ann.cookie, body: { client_id: ann.user.id, worker_id: bob.user.id } });
    expect(await news).toEqual({ conversation: created.body.conversation });
    const got = waitFor(bobB, 'message');
    const ack = await request(annA, 'message', { conversation_id: created.body.conversation.id, message: 'sharded', type: 'TEXT' });
    expect(await got).toEqual(ack.message);
    const reply = waitFor(annA, 'message', (m) => m.message === 'back');
    const back = await request(bobB, 'message', { conversation_id: created.body.conversation.id, message: 'back', type: 'TEXT' });
    expect(await reply).toEqual(back.message);

    const gone = new Promise((r) => bobB.once('disconnect', r));
    expect((await api(podA.url, 'POST', '/api/auth/logout', { cookie: bob.cookie })).status).toBe(204);
    expect(await gone).toBe('io server disconnect');
  });

  it('an existing conversation works for sockets that connected after it was made', async () => {
    const [ann, bob] = await Promise.all([newUser(podA.url), newUser(podA.url)]);
    const conv = await newConversation(podA.url, ann, bob);
    const bobA = await inboxOn(podA, bob.cookie);
    const annB = await inboxOn(podB, ann.cookie);
    const got = waitFor(bobA, 'message');
    const ack = await request(annB, 'message', { conversation_id: conv.id, message: 'x', type: 'TEXT' });
    expect(await got).toEqual(ack.message);
    expect((await api(podB.url, 'GET', '/readyz')).status).toBe(200);
  });

  it('ready snapshots and delivery receipts work across pods as on one Redis', async () => {
    const [ann, bob] = await Promise.all([newUser(podA.url), newUser(podB.url)]);
    const conv = await newConversation(podA.url, ann, bob);
    const annA = await inboxOn(podA, ann.cookie);
    const bobB = await inboxOn(podB, bob.cookie);
    const sent = await request(annA, 'message', { conversation_id: conv.id, message: 'receipt me', type: 'TEXT' });
    const delivered = waitFor(annA, 'delivered');
    expect(await request(bobB, 'delivered', { conversation_id: conv.id, seq: sent.message.seq })).toEqual({ ok: true });
    expect(await delivered).toEqual({ conversation_id: conv.id, user_id: bob.user.id, seq: 1 });
    const read = waitFor(annA, 'read');
    expect(await request(bobB, 'read', { conversation_id: conv.id, seq: 1 })).toEqual({ ok: true });
    expect(await read).toEqual({ conversation_id: conv.id, user_id: bob.user.id, seq: 1 });
    const again = await connectInbox(podB.url, ann.cookie);
    sockets.push(again.socket);
    const listed = (await api(podB.url, 'GET', '/api/conversations', { cookie: ann.cookie })).body.conversations;
    expect(again.ready.conversations).toEqual(listed);
    expect(listed[0]).toMatchObject({ id: conv.id, last_seq: 1, read_seq: 0, peer_read_seq: 1, peer_delivered_seq: 1 });
  });

  it('presence: online once across pods, ready lists the online peers, offline after the grace (user keys on one slot, the due set on another)', async () => {
    const [ann, bob, carol] = await Promise.all([newUser(podA.url), newUser(podB.url), newUser(podA.url)]);
    await Promise.all([newConversation(podA.url, ann, bob), newConversation(podA.url, carol, ann)]);
    const bobB = await inboxOn(podB, bob.cookie);
    const carolA = await inboxOn(podA, carol.cookie);
    const seen = [collect(bobB, 'presence'), collect(carolA, 'presence')];
    const [annA, annB] = await Promise.all([connectInbox(podA.url, ann.cookie), connectInbox(podB.url, ann.cookie)]);
    expect(annA.ready.online_user_ids).toEqual([bob.user.id, carol.user.id].sort((a, b) => a - b));
    const up = { user_id: ann.user.id, online: true, last_seen_at: null };
    await pollUntil(async () => seen.every((s) => s.length > 0), 'Ann online at her peers');
    annA.socket.close();
    const left = Date.now();
    annB.socket.close();
    await pollUntil(async () => seen.every((s) => s.length > 1), 'Ann offline at her peers', 10_000);
    expect(Date.now() - left).toBeGreaterThanOrEqual(950);
    await new Promise((r) => setTimeout(r, 500));
    for (const s of seen) expect(s).toEqual([up, { user_id: ann.user.id, online: false, last_seen_at: expect.any(String) }]);
  });

  it('job updates published by a worker (sharded SPUBLISH) reach a watcher on another pod', async () => {
    await expectJobStreamsAcrossPods(podA, podB, inboxOn);
  });
});
