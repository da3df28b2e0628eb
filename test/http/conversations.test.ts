import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { startApp, type RunningApp } from '../helpers/app.js';
import { api, newConversation, newUser, type TestUser } from '../helpers/http.js';
import { connectInbox, request } from '../helpers/sockets.js';

let hub: RunningApp;
beforeAll(async () => {
  hub = await startApp({ MESSAGE_RATE_LIMIT: '1000' });
});
afterAll(() => hub.close());

const errorOf = (code: string) => ({ error: { code, message: expect.any(String) } });
/** A user as another user sees them: exactly these keys, never the email. */
const peerOf = (u: TestUser) => ({ id: u.user.id, name: u.user.name, avatar_url: u.user.avatar_url });

describe('POST /api/conversations', () => {
  it('creates once (201) and then returns the same conversation (200)', async () => {
    const [ann, bob] = await Promise.all([newUser(hub.url, { name: 'Ann' }), newUser(hub.url, { name: 'Bob', avatar_url: 'https://x.test/b.png' })]);
    const body = { client_id: ann.user.id, worker_id: bob.user.id };
    const first = await api(hub.url, 'POST', '/api/conversations', { cookie: ann.cookie, body });
    expect(first.status).toBe(201);
    expect(first.body).toEqual({
      conversation: {
        id: expect.any(Number),
        client: peerOf(ann),
        worker: peerOf(bob),
        created_at: expect.stringMatching(/Z$/),
        last_message: null,
        unread_count: 0,
        last_seq: 0,
        read_seq: 0,
        peer_read_seq: 0,
        peer_delivered_seq: 0,
      },
    });
    const again = await api(hub.url, 'POST', '/api/conversations', { cookie: bob.cookie, body });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
  });

  it('refuses a caller who is neither party (403), an unknown user (404), a self-conversation (400)', async () => {
    const [ann, bob, eve] = await Promise.all([newUser(hub.url), newUser(hub.url), newUser(hub.url)]);
    const third = await api(hub.url, 'POST', '/api/conversations', { cookie: eve.cookie, body: { client_id: ann.user.id, worker_id: bob.user.id } });
    expect([third.status, third.body]).toEqual([403, errorOf('forbidden')]);
    const ghost = await api(hub.url, 'POST', '/api/conversations', { cookie: ann.cookie, body: { client_id: ann.user.id, worker_id: 2_000_000_000 } });
    expect([ghost.status, ghost.body]).toEqual([404, errorOf('not_found')]);
    const self = await api(hub.url, 'POST', '/api/conversations', { cookie: ann.cookie, body: { client_id: ann.user.id, worker_id: ann.user.id } });
    expect([self.status, self.body]).toEqual([400, errorOf('invalid_payload')]);
    const bad = await api(hub.url, 'POST', '/api/conversations', { cookie: ann.cookie, body: { client_id: String(ann.user.id), worker_id: bob.user.id } });
    expect([bad.status, bad.body]).toEqual([400, errorOf('invalid_payload')]);
    const anon = await api(hub.url, 'POST', '/api/conversations', { body: { client_id: ann.user.id, worker_id: bob.user.id } });
    expect([anon.status, anon.body]).toEqual([401, errorOf('unauthorized')]);
  });
});

describe('CONVERSATION_RATE_LIMIT', () => {
  it('limits new conversations per user across pods; an existing pair does not count', async () => {
    const env = { REDIS_PREFIX: `${inject('redisPrefix')}-convlimit`, CONVERSATION_RATE_LIMIT: '3' };
    const [podA, podB] = await Promise.all([startApp(env), startApp(env)]);
    try {
      const [ann, ...others] = (await Promise.all(Array.from({ length: 6 }, () => newUser(podA.url)))) as [TestUser, ...TestUser[]];
      const open = (url: string, caller: TestUser, client: TestUser, worker: TestUser) =>
        api(url, 'POST', '/api/conversations', { cookie: caller.cookie, body: { client_id: client.user.id, worker_id: worker.user.id } });
      const statuses = [
        (await open(podA.url, ann, ann, others[0]!)).status,
        (await open(podB.url, ann, others[1]!, ann)).status,
        (await open(podA.url, ann, ann, others[0]!)).status,
        (await open(podB.url, ann, ann, others[0]!)).status,
        (await open(podA.url, ann, ann, others[2]!)).status,
      ];
      expect(statuses).toEqual([201, 201, 200, 200, 201]);
      const refused = await open(podB.url, ann, ann, others[3]!);
      expect([refused.status, refused.body]).toEqual([429, errorOf('rate_limited')]);
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      // Nothing was stored for the refused pair; existing pairs are still answered; others are not limited.
      const [row] = await podA.app.dbHandle.sql`select count(*)::int as n from conversations where client_id = ${ann.user.id} or worker_id = ${ann.user.id}`;
      expect(row!.n).toBe(3);
      expect((await open(podB.url, ann, others[1]!, ann)).status).toBe(200);
      expect((await open(podA.url, others[4]!, others[4]!, ann)).status).toBe(201);
    } finally {
      await Promise.all([podA.close(), podB.close()]);
    }
  });
});

describe('GET /api/conversations', () => {
  it('lists the caller\'s conversations, most recent activity first, with last_message, unread_count and the markers', async () => {
    const [ann, bob, carol] = await Promise.all([newUser(hub.url), newUser(hub.url), newUser(hub.url)]);
    const c1 = await newConversation(hub.url, ann, bob);
    const c2 = await newConversation(hub.url, carol, ann);
    const { socket } = await connectInbox(hub.url, bob.cookie);
    const ack = await request(socket, 'message', { conversation_id: c1.id, message: 'latest', type: 'TEXT' });
    socket.close();
    const res = await api(hub.url, 'GET', '/api/conversations', { cookie: ann.cookie });
    expect(res.status).toBe(200);
    expect(res.body.conversations.map((c: { id: number }) => c.id)).toEqual([c1.id, c2.id]);
    expect(res.body.conversations[0]).toEqual({
      id: c1.id,
      client: peerOf(ann),
      worker: peerOf(bob),
      created_at: expect.any(String),
      last_message: ack.message,
      unread_count: 1,
      last_seq: 1,
      read_seq: 0,
      // Sending moves none of the sender's markers.
      peer_read_seq: 0,
      peer_delivered_seq: 0,
    });
    expect(res.body.conversations[1].last_message).toBeNull();
    const bobs = await api(hub.url, 'GET', '/api/conversations', { cookie: bob.cookie });
    expect(bobs.body.conversations.map((c: { id: number; unread_count: number }) => [c.id, c.unread_count])).toEqual([[c1.id, 0]]);
  });
});

describe('GET /api/conversations/:id/messages', () => {
  it('pages history backwards with before_seq, ascending inside a page', async () => {
    const [ann, bob] = await Promise.all([newUser(hub.url), newUser(hub.url)]);
    const conv = await newConversation(hub.url, ann, bob);
    const { socket } = await connectInbox(hub.url, ann.cookie);
    for (let i = 1; i <= 7; i++) await request(socket, 'message', { conversation_id: conv.id, message: `m${i}`, type: 'TEXT' });
    socket.close();
    const page = async (q: string) => (await api(hub.url, 'GET', `/api/conversations/${conv.id}/messages${q}`, { cookie: bob.cookie })).body;
    const latest = await page('?limit=3');
    expect(latest.messages.map((m: { seq: number }) => m.seq)).toEqual([5, 6, 7]);
    expect(latest.has_more).toBe(true);
    const older = await page('?limit=3&before_seq=5');
    expect(older.messages.map((m: { seq: number }) => m.seq)).toEqual([2, 3, 4]);
    expect(older.has_more).toBe(true);
    const oldest = await page('?limit=3&before_seq=2');
    expect(oldest).toEqual({ messages: [expect.objectContaining({ seq: 1, message: 'm1' })], has_more: false });
    const all = await page('');
    expect(all.messages).toHaveLength(7);
    expect(all.has_more).toBe(false);
  });

  it('answers 404 to a non-member and 400 to bad paging', async () => {
    const [ann, bob, eve] = await Promise.all([newUser(hub.url), newUser(hub.url), newUser(hub.url)]);
    const conv = await newConversation(hub.url, ann, bob);
    const hidden = await api(hub.url, 'GET', `/api/conversations/${conv.id}/messages`, { cookie: eve.cookie });
    expect([hidden.status, hidden.body]).toEqual([404, errorOf('not_found')]);
    const missing = await api(hub.url, 'GET', `/api/conversations/2000000000/messages`, { cookie: eve.cookie });
    expect(missing.body).toEqual(hidden.body);
    for (const q of ['?limit=0', '?limit=101', '?limit=x', '?before_seq=-1']) {
      const bad = await api(hub.url, 'GET', `/api/conversations/${conv.id}/messages${q}`, { cookie: ann.cookie });
      expect([bad.status, bad.body]).toEqual([400, errorOf('invalid_payload')]);
    }
  });
});
