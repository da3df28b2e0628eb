import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from '../helpers/config.js';
import { api, newConversation, newUser, sessionCookieFrom, type TestUser } from '../helpers/http.js';
import { spawnHub, type ChildService } from '../helpers/processes.js';
import { collect, connectInbox, request, waitFor, type ClientSocket } from '../helpers/sockets.js';

/**
 * Delivery receipts per device on two real hub processes: Ann's phone on pod A, her laptop on
 * pod B (two sessions), Bob on pod A. Markers are stored in Postgres and travel through Redis.
 */
let podA: ChildService;
let podB: ChildService;
let db: postgres.Sql;
const sockets: ClientSocket[] = [];
beforeAll(async () => {
  [podA, podB] = await Promise.all([spawnHub({ MESSAGE_RATE_LIMIT: '1000' }), spawnHub({ MESSAGE_RATE_LIMIT: '1000' })]);
  db = postgres(testEnv().DATABASE_URL, { max: 1, onnotice: () => {} });
}, 120_000);
afterAll(async () => {
  for (const s of sockets) s.close();
  await Promise.all([podA?.stop(), podB?.stop(), db?.end()]);
});

async function inboxOn(pod: ChildService, cookie: string) {
  const c = await connectInbox(pod.url, cookie);
  sockets.push(c.socket);
  return c;
}

/** A second session of the same user: another device. */
async function secondDevice(pod: ChildService, user: TestUser): Promise<string> {
  const res = await api(pod.url, 'POST', '/api/auth/login', { body: { email: user.email, password: user.password } });
  expect(res.status).toBe(200);
  return sessionCookieFrom(res.headers);
}

const listed = async (pod: ChildService, u: TestUser) => (await api(pod.url, 'GET', '/api/conversations', { cookie: u.cookie })).body.conversations[0];
const marker = (conversation_id: number, user_id: number, seq: number) => ({ conversation_id, user_id, seq });
const invalid = (lastSeq: number) => ({ ok: false, error: { code: 'invalid_payload', message: `seq: is above the conversation's last seq (${lastSeq})` } });

async function storedMarkers(userId: number, conversationId: number) {
  const sessions = await db<{ session_id: number; delivered_seq: number }[]>`
    select m.session_id, m.delivered_seq from session_delivered_markers m join sessions s on s.id = m.session_id
    where s.user_id = ${userId} and m.conversation_id = ${conversationId} order by m.session_id`;
  const [user] = await db<{ delivered_seq: number }[]>`
    select delivered_seq from delivered_markers where user_id = ${userId} and conversation_id = ${conversationId}`;
  const [read] = await db<{ last_read_seq: number }[]>`
    select last_read_seq from read_markers where user_id = ${userId} and conversation_id = ${conversationId}`;
  return { sessions: sessions.map((s) => s.delivered_seq), user: user?.delivered_seq ?? null, read: read?.last_read_seq ?? null };
}

describe('delivery receipts per device, across pods', () => {
  it('delivered per session; the user\'s marker is the highest over their sessions; peers hear when it moves', async () => {
    const [ann, bob] = await Promise.all([newUser(podA.url, { name: 'Ann' }), newUser(podB.url, { name: 'Bob' })]);
    const conv = await newConversation(podA.url, ann, bob);
    const phone = (await inboxOn(podA, ann.cookie)).socket;
    const laptop = (await inboxOn(podB, await secondDevice(podB, ann))).socket;
    const bobA = (await inboxOn(podA, bob.cookie)).socket;
    for (const text of ['1', '2', '3']) expect((await request(bobA, 'message', { conversation_id: conv.id, message: text, type: 'TEXT' })).ok).toBe(true);
    const heard = [bobA, laptop].map((s) => collect(s, 'delivered'));
    const ok = { ok: true };

    const two = Promise.all([bobA, laptop].map((s) => waitFor(s, 'delivered')));
    expect(await request(phone, 'delivered', { conversation_id: conv.id, seq: 2 })).toEqual(ok);
    expect(await two).toEqual([marker(conv.id, ann.user.id, 2), marker(conv.id, ann.user.id, 2)]);
    // The laptop lags behind the phone: its own marker moves, the user's does not.
    expect(await request(laptop, 'delivered', { conversation_id: conv.id, seq: 1 })).toEqual(ok);
    expect(await storedMarkers(ann.user.id, conv.id)).toEqual({ sessions: [2, 1], user: 2, read: null });
    const three = Promise.all([bobA, laptop].map((s) => waitFor(s, 'delivered', (e) => e.seq === 3)));
    expect(await request(laptop, 'delivered', { conversation_id: conv.id, seq: 3 })).toEqual(ok);
    await three;
    // At or below a marker: ok, nothing changes. Above the last message: refused, nothing stored.
    expect(await request(phone, 'delivered', { conversation_id: conv.id, seq: 2 })).toEqual(ok);
    expect(await request(phone, 'delivered', { conversation_id: conv.id, seq: 4 })).toEqual(invalid(3));
    expect(await storedMarkers(ann.user.id, conv.id)).toEqual({ sessions: [2, 3], user: 3, read: null });

    // Sentinel: Bob's own delivered marker moving is the next event everyone hears.
    const sentinel = Promise.all([bobA, laptop].map((s) => waitFor(s, 'delivered', (e) => e.user_id === bob.user.id)));
    expect(await request(bobA, 'delivered', { conversation_id: conv.id, seq: 1 })).toEqual(ok);
    await sentinel;
    const expected = [marker(conv.id, ann.user.id, 2), marker(conv.id, ann.user.id, 3), marker(conv.id, bob.user.id, 1)];
    expect(heard).toEqual([expected, expected]);
  });

  it('read moves the delivered markers too, and says delivered when it moved them; sending moves none of the sender\'s', async () => {
    const [ann, bob] = await Promise.all([newUser(podA.url, { name: 'Ann' }), newUser(podB.url, { name: 'Bob' })]);
    const conv = await newConversation(podA.url, ann, bob);
    const phone = (await inboxOn(podA, ann.cookie)).socket;
    const laptop = (await inboxOn(podB, await secondDevice(podB, ann))).socket;
    const bobB = (await inboxOn(podB, bob.cookie)).socket;
    for (const text of ['1', '2', '3']) expect((await request(bobB, 'message', { conversation_id: conv.id, message: text, type: 'TEXT' })).ok).toBe(true);
    const events = () => {
      const log: unknown[] = [];
      bobB.on('delivered', (e) => log.push(['delivered', e.seq]));
      bobB.on('read', (e) => log.push(['read', e.seq]));
      return log;
    };
    const seen = events();

    const delivered2 = waitFor(bobB, 'delivered', (e) => e.seq === 2);
    expect(await request(phone, 'delivered', { conversation_id: conv.id, seq: 2 })).toEqual({ ok: true });
    await delivered2;
    // Read 1: the read marker moves; the delivered marker (2) does not.
    const read1 = waitFor(bobB, 'read', (e) => e.seq === 1);
    expect(await request(laptop, 'read', { conversation_id: conv.id, seq: 1 })).toEqual({ ok: true });
    await read1;
    // Read 3 from the laptop: read and delivered both move to 3, the laptop's session marker too.
    const read3 = waitFor(bobB, 'read', (e) => e.seq === 3);
    expect(await request(laptop, 'read', { conversation_id: conv.id, seq: 3 })).toEqual({ ok: true });
    expect(await read3).toEqual(marker(conv.id, ann.user.id, 3));
    expect(await request(laptop, 'read', { conversation_id: conv.id, seq: 2 })).toEqual({ ok: true });
    expect(await request(phone, 'read', { conversation_id: conv.id, seq: 9 })).toEqual(invalid(3));
    expect(seen).toEqual([['delivered', 2], ['read', 1], ['delivered', 3], ['read', 3]]);
    expect(await storedMarkers(ann.user.id, conv.id)).toEqual({ sessions: [2, 3], user: 3, read: 3 });

    // Bob sent every message and moved none of his markers; Ann's view shows them at 0.
    expect(await storedMarkers(bob.user.id, conv.id)).toEqual({ sessions: [], user: null, read: null });
    expect(await listed(podA, ann)).toMatchObject({ last_seq: 3, read_seq: 3, unread_count: 0, peer_read_seq: 0, peer_delivered_seq: 0 });
    expect(await listed(podB, bob)).toMatchObject({ last_seq: 3, read_seq: 0, unread_count: 0, peer_read_seq: 3, peer_delivered_seq: 3 });
    // A new socket of Bob's, on the other pod, starts from the same markers.
    const again = await inboxOn(podA, bob.cookie);
    expect(again.ready.conversations).toEqual([await listed(podA, bob)]);
  });
});
