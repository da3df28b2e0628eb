import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, newConversation, newUser } from '../helpers/http.js';
import { expectJobStreamsAcrossPods } from './job-across-pods.js';
import { spawnHub, type ChildService } from '../helpers/processes.js';
import { spawnWorker } from '../helpers/worker-process.js';
import { collect, connect, connectInbox, request, waitFor, type ClientSocket } from '../helpers/sockets.js';

// Two real hub processes: only the Redis adapter can carry traffic between them.
let podA: ChildService;
let podB: ChildService;
let worker: ChildService;
const sockets: ClientSocket[] = [];
beforeAll(async () => {
  [podA, podB, worker] = await Promise.all([spawnHub({ MESSAGE_RATE_LIMIT: '1000' }), spawnHub({ MESSAGE_RATE_LIMIT: '1000' }), spawnWorker()]);
}, 120_000);
afterAll(async () => {
  for (const s of sockets) s.close();
  await Promise.all([podA?.stop(), podB?.stop(), worker?.stop()]);
});

async function inboxOn(pod: ChildService, cookie: string) {
  const c = await connectInbox(pod.url, cookie);
  sockets.push(c.socket);
  return c.socket;
}

describe('two hub pods', () => {
  it('a message sent on pod A reaches the other member and the sender\'s tab on pod B', async () => {
    const [ann, bob] = await Promise.all([newUser(podA.url), newUser(podB.url)]);
    const conv = await newConversation(podA.url, ann, bob);
    const annA = await inboxOn(podA, ann.cookie);
    const annB = await inboxOn(podB, ann.cookie);
    const bobB = await inboxOn(podB, bob.cookie);
    const toBob = waitFor(bobB, 'message');
    const toAnnB = waitFor(annB, 'message');
    const ack = await request(annA, 'message', { conversation_id: conv.id, message: 'across pods', type: 'TEXT' });
    expect(ack.ok).toBe(true);
    expect(await toBob).toEqual(ack.message);
    expect(await toAnnB).toEqual(ack.message);
  });

  it('conversation:new joins the members\' sockets on every pod', async () => {
    const [ann, bob] = await Promise.all([newUser(podA.url), newUser(podA.url)]);
    const annA = await inboxOn(podA, ann.cookie);
    const bobB = await inboxOn(podB, bob.cookie);
    const news = waitFor(bobB, 'conversation:new');
    const created = await api(podA.url, 'POST', '/api/conversations', { cookie: ann.cookie, body: { client_id: ann.user.id, worker_id: bob.user.id } });
    expect(await news).toEqual({ conversation: created.body.conversation });
    const got = waitFor(bobB, 'message');
    const ack = await request(annA, 'message', { conversation_id: created.body.conversation.id, message: 'hi', type: 'TEXT' });
    expect(await got).toEqual(ack.message);
    // Bob's pod-B socket was joined by pod A's socketsJoin, so typing reaches it too.
    const typing = waitFor(bobB, 'typing');
    await request(annA, 'typing', { conversation_id: created.body.conversation.id });
    expect(await typing).toEqual({ conversation_id: created.body.conversation.id, user_id: ann.user.id });
  });

  it('logout on pod A disconnects the session\'s sockets on pod B, legacy ones included', async () => {
    const [ann, bob] = await Promise.all([newUser(podA.url), newUser(podA.url)]);
    const conv = await newConversation(podA.url, ann, bob);
    const onB = await inboxOn(podB, ann.cookie);
    const legacyOnB = await connect(podB.url, ann.cookie, { namespace: `/chat/${conv.id}` });
    sockets.push(legacyOnB);
    const gone = Promise.all([onB, legacyOnB].map((s) => new Promise((r) => s.once('disconnect', r))));
    expect((await api(podA.url, 'POST', '/api/auth/logout', { cookie: ann.cookie })).status).toBe(204);
    expect(await gone).toEqual(['io server disconnect', 'io server disconnect']);
  });

  it('the legacy namespace on pod B receives messages sent to /inbox on pod A', async () => {
    const [ann, bob] = await Promise.all([newUser(podA.url), newUser(podA.url)]);
    const conv = await newConversation(podA.url, ann, bob);
    const legacyB = await connect(podB.url, bob.cookie, { namespace: `/chat/${conv.id}` });
    sockets.push(legacyB);
    const annA = await inboxOn(podA, ann.cookie);
    const got = waitFor(legacyB as ClientSocket, 'message');
    const ack = await request(annA, 'message', { conversation_id: conv.id, message: 'to legacy', type: 'TEXT' });
    expect(await got).toEqual(ack.message);
    const seen = collect(annA, 'message');
    const reply = await request(legacyB, 'message', { message: 'from legacy B', type: 'TEXT' });
    await expect.poll(() => seen.map((m) => m.id)).toEqual([reply.message.id]);
  });

  it('job updates from a worker process reach a watcher on another pod, in seq order', async () => {
    await expectJobStreamsAcrossPods(podA, podB, inboxOn);
  });
});
