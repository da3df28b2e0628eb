import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type RunningApp } from '../helpers/app.js';
import { api, newConversation, newUser, type TestUser } from '../helpers/http.js';
import { collect, connect, connectInbox, request, waitFor, type ClientSocket } from '../helpers/sockets.js';

let hub: RunningApp;
const open: ClientSocket[] = [];
beforeAll(async () => {
  hub = await startApp({ MESSAGE_RATE_LIMIT: '1000' });
});
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});
afterAll(() => hub.close());

async function inbox(user: TestUser, transports?: ('polling' | 'websocket')[]) {
  const c = await connectInbox(hub.url, user.cookie, { transports });
  open.push(c.socket);
  return c;
}

const messageShape = (over: Record<string, unknown>) => ({
  id: expect.any(Number),
  conversation_id: expect.any(Number),
  seq: expect.any(Number),
  sender_id: expect.any(String),
  sender_name: expect.any(String),
  sender_avatar: null,
  message: expect.any(String),
  type: 'TEXT',
  created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
  message_id: expect.any(Number),
  client_msg_id: null,
  ...over,
});

async function trio() {
  const [ann, bob, eve] = await Promise.all([newUser(hub.url, { name: 'Ann' }), newUser(hub.url, { name: 'Bob' }), newUser(hub.url, { name: 'Eve' })]);
  const conv = await newConversation(hub.url, ann, bob);
  return { ann, bob, eve, conv };
}

describe('connecting to /inbox', () => {
  it('refuses a handshake without a valid session', async () => {
    await expect(connect(hub.url, undefined)).rejects.toThrow('unauthorized');
    await expect(connect(hub.url, 'sessionid=forged.value')).rejects.toThrow('unauthorized');
  });

  it('refuses a browser Origin outside ALLOWED_ORIGINS even with a valid cookie', async () => {
    const u = await newUser(hub.url);
    await expect(connect(hub.url, u.cookie, { origin: 'https://evil.example' })).rejects.toThrow('forbidden_origin');
    await expect(connect(hub.url, u.cookie, { origin: 'https://evil.example', transports: ['polling'] })).rejects.toThrow('forbidden_origin');
    const ok = await connect(hub.url, u.cookie, { origin: 'http://localhost:8000' });
    open.push(ok);
  });

  it('emits ready with exactly the user, their conversation ids, the conversations as GET /api/conversations gives them and the online peers', async () => {
    const { ann, bob, eve, conv } = await trio();
    const other = await newConversation(hub.url, eve, bob);
    const listed = async (u: TestUser) => (await api(hub.url, 'GET', '/api/conversations', { cookie: u.cookie })).body.conversations;
    const bobs = await inbox(bob);
    expect(bobs.ready).toEqual({ user: bob.user, conversation_ids: [conv.id, other.id].sort((a, b) => a - b), conversations: await listed(bob), online_user_ids: [], unread_notices: 0 });
    expect(bobs.ready.conversations.map((c) => c.id)).toEqual([other.id, conv.id]);
    const anns = await inbox(ann);
    // Bob is online now (his socket above); Eve shares no conversation with Ann.
    expect(anns.ready).toEqual({ user: ann.user, conversation_ids: [conv.id], conversations: await listed(ann), online_user_ids: [bob.user.id], unread_notices: 0 });
  });

  it.each([[['polling']], [['websocket']], [['polling', 'websocket']]] as const)('works with transports %j', async (transports) => {
    const { ann, bob, conv } = await trio();
    const a = await inbox(ann, [...transports]);
    const b = await inbox(bob, [...transports]);
    const got = waitFor(b.socket, 'message');
    const ack = await request(a.socket, 'message', { conversation_id: conv.id, message: 'hi', type: 'TEXT' });
    expect(ack).toEqual({ ok: true, message: messageShape({ conversation_id: conv.id, seq: 1, sender_id: String(ann.user.id), sender_name: 'Ann', message: 'hi' }) });
    expect(await got).toEqual(ack.message);
  });
});

describe('message', () => {
  it('reaches the other member and the sender\'s second tab, exactly shaped; the outsider gets nothing', async () => {
    const { ann, bob, eve, conv } = await trio();
    const [a1, a2, b, e] = await Promise.all([inbox(ann), inbox(ann), inbox(bob), inbox(eve)]);
    const eveGot = collect(e.socket, 'message');
    const toBob = waitFor(b.socket, 'message');
    const toA2 = waitFor(a2.socket, 'message');
    const toA1 = waitFor(a1.socket, 'message');
    const ack = await request(a1.socket, 'message', { conversation_id: conv.id, message: 'Hello back', type: 'TEXT', client_msg_id: 'c-1' });
    const expected = messageShape({ conversation_id: conv.id, seq: 1, sender_id: String(ann.user.id), sender_name: 'Ann', message: 'Hello back', client_msg_id: 'c-1' });
    expect(ack).toEqual({ ok: true, message: expected });
    expect(Object.keys(ack.message).sort()).toEqual(
      ['client_msg_id', 'conversation_id', 'created_at', 'id', 'message', 'message_id', 'sender_avatar', 'sender_id', 'sender_name', 'seq', 'type'],
    );
    expect(ack.message.message_id).toBe(ack.message.id);
    for (const got of await Promise.all([toBob, toA2, toA1])) expect(got).toEqual(ack.message);

    // Sentinel: a message in Eve's own conversation arrives after anything she could have got.
    const eveConv = await newConversation(hub.url, eve, bob);
    await request(e.socket, 'sync', { cursors: {} });
    const sentinel = waitFor(e.socket, 'message', (m) => m.conversation_id === eveConv.id);
    await request(b.socket, 'message', { conversation_id: eveConv.id, message: 'sentinel', type: 'TEXT' });
    await sentinel;
    expect(eveGot.map((m) => m.conversation_id)).toEqual([eveConv.id]);
  });

  it('answers forbidden to a non-member and stores nothing', async () => {
    const { eve, conv } = await trio();
    const e = await inbox(eve);
    const ack = await request(e.socket, 'message', { conversation_id: conv.id, message: 'let me in', type: 'TEXT' });
    expect(ack).toEqual({ ok: false, error: { code: 'forbidden', message: expect.any(String) } });
    const [row] = await hub.app.dbHandle.sql`select count(*)::int as n from messages where conversation_id = ${conv.id}`;
    expect(row!.n).toBe(0);
  });

  it.each([
    [null, 'invalid_payload'],
    ['text', 'invalid_payload'],
    [{ conversation_id: '1', message: 'x', type: 'TEXT' }, 'invalid_payload'],
    [{ conversation_id: 1, message: '', type: 'TEXT' }, 'invalid_payload'],
    [{ conversation_id: 1, message: 'x', type: 'VIDEO' }, 'invalid_payload'],
    [{ conversation_id: 1, message: 'x', type: 'TEXT', client_msg_id: 'x'.repeat(65) }, 'invalid_payload'],
  ])('rejects %j with %s', async (payload, code) => {
    const u = await newUser(hub.url);
    const s = await inbox(u);
    expect(await request(s.socket, 'message', payload)).toEqual({ ok: false, error: { code, message: expect.any(String) } });
  });

  it('answers too_large over MAX_MESSAGE_LENGTH characters, counting code points', async () => {
    const { ann, conv } = await trio();
    const a = await inbox(ann);
    const tooLong = await request(a.socket, 'message', { conversation_id: conv.id, message: 'x'.repeat(4001), type: 'TEXT' });
    expect(tooLong).toEqual({ ok: false, error: { code: 'too_large', message: expect.any(String) } });
    const emoji = '😀'.repeat(4000); // 8000 UTF-16 units, 4000 characters
    const ok = await request(a.socket, 'message', { conversation_id: conv.id, message: emoji, type: 'TEXT' });
    expect(ok.ok).toBe(true);
    expect(ok.message.message).toBe(emoji);
  });

  it('a repeated client_msg_id returns the first stored message and is not broadcast again', async () => {
    const { ann, bob, conv } = await trio();
    const a = await inbox(ann);
    const b = await inbox(bob);
    const bobGot = collect(b.socket, 'message');
    const first = await request(a.socket, 'message', { conversation_id: conv.id, message: 'once', type: 'TEXT', client_msg_id: 'retry-1' });
    const again = await request(a.socket, 'message', { conversation_id: conv.id, message: 'once', type: 'TEXT', client_msg_id: 'retry-1' });
    expect(again).toEqual(first);
    const sentinel = waitFor(b.socket, 'message', (m) => m.message === 'after');
    await request(a.socket, 'message', { conversation_id: conv.id, message: 'after', type: 'TEXT' });
    await sentinel;
    expect(bobGot.map((m) => [m.seq, m.message])).toEqual([[1, 'once'], [2, 'after']]);
  });

  it('20 concurrent senders get seq 1..N with no gap, and every receiver sees all N in order', async () => {
    const { ann, bob, conv } = await trio();
    const senders = await Promise.all(Array.from({ length: 10 }, (_, i) => inbox(i % 2 ? ann : bob)));
    const watchers = await Promise.all([inbox(ann), inbox(bob)]);
    const seen = watchers.map((w) => collect(w.socket, 'message'));
    const perSender = 2;
    const N = senders.length * perSender;
    const acks = await Promise.all(
      senders.flatMap((s, i) =>
        Array.from({ length: perSender }, (_, j) => request(s.socket, 'message', { conversation_id: conv.id, message: `m${i}-${j}`, type: 'TEXT' })),
      ),
    );
    expect(acks.every((a) => a.ok)).toBe(true);
    expect(acks.map((a) => a.message.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    await Promise.all(watchers.map((w) => waitFor(w.socket, 'message', (m) => m.seq === N).catch(() => undefined)));
    await expect.poll(() => seen.map((s) => s.length)).toEqual([N, N]);
    for (const s of seen) expect(s.map((m) => m.seq)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
  });
});

describe('sync', () => {
  it('returns exactly what a disconnected client missed', async () => {
    const { ann, bob, conv } = await trio();
    const a = await inbox(ann);
    const b = await inbox(bob);
    await request(a.socket, 'message', { conversation_id: conv.id, message: 'seen', type: 'TEXT' });
    await waitFor(b.socket, 'message');
    b.socket.close();
    for (const text of ['m2', 'm3', 'm4']) await request(a.socket, 'message', { conversation_id: conv.id, message: text, type: 'TEXT' });
    const again = await inbox(bob);
    const res = await request(again.socket, 'sync', { cursors: { [conv.id]: 1 } });
    expect(res).toEqual({
      ok: true,
      messages: ['m2', 'm3', 'm4'].map((m, i) => messageShape({ conversation_id: conv.id, seq: i + 2, message: m, sender_name: 'Ann', sender_id: String(ann.user.id) })),
      has_more: false,
      conversation_ids: [conv.id],
    });
    const paged = await request(again.socket, 'sync', { cursors: { [conv.id]: 0 }, limit: 2 });
    expect(paged.messages.map((m: { seq: number }) => m.seq)).toEqual([1, 2]);
    expect(paged.has_more).toBe(true);
  });

  it('refuses cursors for a conversation the user is not in', async () => {
    const { eve, conv } = await trio();
    const e = await inbox(eve);
    expect(await request(e.socket, 'sync', { cursors: { [conv.id]: 0 } })).toEqual({ ok: false, error: { code: 'forbidden', message: expect.any(String) } });
    expect(await request(e.socket, 'sync', { cursors: { abc: 0 } })).toEqual({ ok: false, error: { code: 'invalid_payload', message: expect.any(String) } });
  });
});

describe('conversation:new', () => {
  it('joins both users\' live sockets and tells them', async () => {
    const [ann, bob] = await Promise.all([newUser(hub.url, { name: 'Ann' }), newUser(hub.url, { name: 'Bob' })]);
    const a = await inbox(ann);
    const b = await inbox(bob);
    expect(b.ready.conversation_ids).toEqual([]);
    const toA = waitFor(a.socket, 'conversation:new');
    const toB = waitFor(b.socket, 'conversation:new');
    const created = await api(hub.url, 'POST', '/api/conversations', { cookie: bob.cookie, body: { client_id: ann.user.id, worker_id: bob.user.id } });
    expect(created.status).toBe(201);
    expect(await toA).toEqual({ conversation: created.body.conversation });
    expect(await toB).toEqual({ conversation: created.body.conversation });
    const got = waitFor(b.socket, 'message');
    await request(a.socket, 'message', { conversation_id: created.body.conversation.id, message: 'live', type: 'TEXT' });
    expect((await got).message).toBe('live');
  });
});

describe('typing and read', () => {
  it('typing reaches the other member but none of the typist\'s sockets', async () => {
    const { ann, bob, conv } = await trio();
    const [a1, a2, b] = await Promise.all([inbox(ann), inbox(ann), inbox(bob)]);
    const annTyping = [collect(a1.socket, 'typing'), collect(a2.socket, 'typing')];
    const toBob = waitFor(b.socket, 'typing');
    expect(await request(a1.socket, 'typing', { conversation_id: conv.id })).toEqual({ ok: true });
    expect(await toBob).toEqual({ conversation_id: conv.id, user_id: ann.user.id });
    // Sentinel: Bob types back; by then Ann's sockets would have had their own echo.
    const sentinel = Promise.all([waitFor(a1.socket, 'typing'), waitFor(a2.socket, 'typing')]);
    await request(b.socket, 'typing', { conversation_id: conv.id });
    await sentinel;
    expect(annTyping).toEqual([[{ conversation_id: conv.id, user_id: bob.user.id }], [{ conversation_id: conv.id, user_id: bob.user.id }]]);
  });

  it('read is stored, broadcast, and reflected in unread_count; forward only, never past the last message', async () => {
    const { ann, bob, conv } = await trio();
    const a = await inbox(ann);
    const b = await inbox(bob);
    for (const text of ['1', '2', '3']) await request(a.socket, 'message', { conversation_id: conv.id, message: text, type: 'TEXT' });
    const listed = async (u: TestUser) => (await api(hub.url, 'GET', '/api/conversations', { cookie: u.cookie })).body.conversations[0];
    expect((await listed(bob)).unread_count).toBe(3);
    expect((await listed(ann)).unread_count).toBe(0);
    const reads = collect(a.socket, 'read');
    const toAnn = waitFor(a.socket, 'read');
    expect(await request(b.socket, 'read', { conversation_id: conv.id, seq: 2 })).toEqual({ ok: true });
    expect(await toAnn).toEqual({ conversation_id: conv.id, user_id: bob.user.id, seq: 2 });
    expect((await listed(bob)).unread_count).toBe(1);
    // At or below the marker: ok, and nothing changes or is sent; above the last message: refused.
    expect(await request(b.socket, 'read', { conversation_id: conv.id, seq: 1 })).toEqual({ ok: true });
    expect(await request(b.socket, 'read', { conversation_id: conv.id, seq: 2 })).toEqual({ ok: true });
    expect((await listed(bob)).unread_count).toBe(1);
    expect(await request(b.socket, 'read', { conversation_id: conv.id, seq: 99 })).toEqual({
      ok: false,
      error: { code: 'invalid_payload', message: "seq: is above the conversation's last seq (3)" },
    });
    expect((await listed(bob)).read_seq).toBe(2);
    const last = waitFor(a.socket, 'read', (e) => e.seq === 3);
    expect(await request(b.socket, 'read', { conversation_id: conv.id, seq: 3 })).toEqual({ ok: true });
    await last;
    expect(reads).toEqual([2, 3].map((seq) => ({ conversation_id: conv.id, user_id: bob.user.id, seq })));
    expect((await listed(bob)).unread_count).toBe(0);
  });

  it('typing and read in someone else\'s conversation are forbidden', async () => {
    const { eve, conv } = await trio();
    const e = await inbox(eve);
    const forbidden = { ok: false, error: { code: 'forbidden', message: expect.any(String) } };
    expect(await request(e.socket, 'typing', { conversation_id: conv.id })).toEqual(forbidden);
    expect(await request(e.socket, 'read', { conversation_id: conv.id, seq: 1 })).toEqual(forbidden);
  });
});

describe('logout', () => {
  it('disconnects every socket opened with the session', async () => {
    const u = await newUser(hub.url);
    const [s1, s2] = await Promise.all([inbox(u), inbox(u)]);
    const gone = Promise.all([s1, s2].map((s) => new Promise((r) => s.socket.once('disconnect', r))));
    expect((await api(hub.url, 'POST', '/api/auth/logout', { cookie: u.cookie })).status).toBe(204);
    expect(await gone).toEqual(['io server disconnect', 'io server disconnect']);
    await expect(connect(hub.url, u.cookie)).rejects.toThrow('unauthorized');
  });
});
