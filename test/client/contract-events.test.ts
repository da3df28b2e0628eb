import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createInboxClient,
  inboxStore,
  type Conversation,
  type InboxClient,
  type Job,
  type MarkerPayload,
  type Message,
  type OutputChunk,
  type ReadyPayload,
} from '@inbox-hub/client';
import { eventually, nextEvent, statusReached } from './client-helpers.js';
import { startFakeHub, USER, type FakeHub, type FakeSocket } from './fake-hub.js';

/**
 * The parts of the contract played by a scripted hub, on cue: what this hub does not send yet
 * (presence, resync, job output, notices), and the snapshot and receipts in orders a real hub
 * rarely produces (test/client/receipts.test.ts has them against the real one).
 */
let hub: FakeHub;
const clients: InboxClient[] = [];
beforeEach(async () => {
  hub = await startFakeHub();
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await hub.close();
});

function client(): InboxClient {
  const c = createInboxClient(hub.url, { transports: ['websocket'], reconnectionDelay: 50, reconnectionDelayMax: 100, deliveredDelayMs: 20 });
  clients.push(c);
  return c;
}

const BOB = { id: 2, name: 'Bob', avatar_url: null };
const at = (minute: number) => `2025-01-01T00:${String(minute).padStart(2, '0')}:00.000Z`;
const msg = (conversationId: number, seq: number, senderId: number, text: string): Message => ({
  id: conversationId * 100 + seq, conversation_id: conversationId, seq, sender_id: String(senderId), sender_name: senderId === 1 ? 'Ann' : 'Bob',
  sender_avatar: null, message: text, type: 'TEXT', created_at: at(seq), message_id: conversationId * 100 + seq, client_msg_id: null,
});
const conversation = (id: number, lastSeq: number, over: Partial<Conversation> = {}): Conversation => ({
  id, client: { id: 1, name: 'Ann', avatar_url: null }, worker: BOB, created_at: at(0), last_message: lastSeq ? msg(id, lastSeq, 2, `m${lastSeq}`) : null,
  unread_count: 0, last_seq: lastSeq, read_seq: lastSeq, peer_read_seq: 0, peer_delivered_seq: 0, ...over,
});
const snapshot = (): ReadyPayload => ({
  user: USER,
  conversation_ids: [4, 5],
  conversations: [conversation(4, 3, { unread_count: 2, read_seq: 1 }), conversation(5, 0)],
  online_user_ids: [2],
  unread_notices: 3,
});

describe('the ready snapshot and live state', () => {
  it('fills the store from ready, then follows messages, markers, presence and notices', async () => {
    hub.ready = snapshot;
    const c = client();
    const store = inboxStore(c);
    await statusReached(c, 'live');
    expect(store.getSnapshot()).toMatchObject({
      status: 'live', user: USER, unreadTotal: 2, unreadNotices: 3, onlineUserIds: [2], outbox: [],
    });
    expect(store.getSnapshot().conversations.map((x) => x.id)).toEqual([4, 5]);

    const [socket] = hub.sockets() as [FakeSocket];
    const seen = nextEvent(c, 'message');
    socket.emit('message', { ...msg(5, 1, 2, 'hi'), created_at: at(30) });
    await seen;
    expect(store.getSnapshot().conversations.map((x) => [x.id, x.last_seq, x.unread_count])).toEqual([[5, 1, 1], [4, 3, 2]]);
    expect(store.getSnapshot().unreadTotal).toBe(3);

    const events = Promise.all([nextEvent(c, 'presence'), nextEvent(c, 'delivered'), nextEvent(c, 'read'), nextEvent(c, 'notice')]);
    socket.emit('presence', { user_id: 2, online: false, last_seen_at: at(9) });
    socket.emit('delivered', { conversation_id: 4, user_id: 2, seq: 3 });
    socket.emit('read', { conversation_id: 4, user_id: 1, seq: 3 });
    socket.emit('notice:new', { notice: { id: 9, kind: 'job.completed', job_id: '7', title: 'Export finished', created_at: at(9), read_at: null } });
    await events;
    const after = store.getSnapshot();
    expect(after).toMatchObject({ onlineUserIds: [], unreadNotices: 4, unreadTotal: 1 });
    expect(after.conversations.find((x) => x.id === 4)).toMatchObject({ read_seq: 3, unread_count: 0, peer_delivered_seq: 3, peer_read_seq: 0 });
    expect(store.deliveryStatus(msg(4, 3, 1, 'mine'))).toBe('delivered');
    expect(store.deliveryStatus(msg(4, 4, 1, 'mine'))).toBe('sent');
  });

  it('takes conversations the app fetched itself, keeping markers that already moved further', async () => {
    hub.ready = snapshot;
    const c = client();
    const store = inboxStore(c);
    await statusReached(c, 'live');
    const [socket] = hub.sockets() as [FakeSocket];
    const read = nextEvent(c, 'read');
    socket.emit('read', { conversation_id: 4, user_id: 2, seq: 3 });
    await read;
    // An older copy (markers at 0, as a hub without them answers) and one the hub has not pushed.
    store.addConversations([conversation(4, 3, { unread_count: 2, read_seq: 1 }), conversation(6, 0, { created_at: at(40) })]);
    const { conversations } = store.getSnapshot();
    expect(conversations.map((x) => [x.id, x.peer_read_seq, x.peer_delivered_seq])).toEqual([[6, 0, 0], [4, 3, 3], [5, 0, 0]]);
  });

  it('sends delivered by itself, batched: the highest seq of the other member per conversation, once', async () => {
    const delivered: MarkerPayload[] = [];
    hub.onConnection = (socket) => socket.on('delivered', (p, ack) => void (delivered.push(p), ack({ ok: true })));
    const c = client();
    await statusReached(c, 'live');
    const [socket] = hub.sockets() as [FakeSocket];
    for (const m of [msg(4, 1, 2, 'a'), msg(4, 2, 2, 'b'), msg(4, 3, 1, 'mine'), msg(5, 1, 2, 'c')]) socket.emit('message', m);
    await eventually(() => delivered).toEqual([{ conversation_id: 4, seq: 2 }, { conversation_id: 5, seq: 1 }]);
    socket.emit('message', msg(4, 4, 1, 'mine again'));
    socket.emit('message', msg(4, 5, 2, 'd'));
    await eventually(() => delivered).toHaveLength(3);
    expect(delivered[2]).toEqual({ conversation_id: 4, seq: 5 });
  });

  it('messages that arrive before the first ready (the hub joins the rooms first) are marked delivered once it says who the user is, the own ones never', async () => {
    const delivered: MarkerPayload[] = [];
    hub.onConnection = (socket) => {
      socket.on('delivered', (p, ack) => void (delivered.push(p), ack({ ok: true })));
      socket.emit('message', msg(4, 1, 2, 'from Bob'));
      socket.emit('message', msg(4, 2, 1, 'mine'));
    };
    const c = client();
    await statusReached(c, 'live');
    const [socket] = hub.sockets() as [FakeSocket];
    // Sentinel: a later message of Bob's is marked after the early ones were.
    socket.emit('message', msg(5, 1, 2, 'later'));
    await eventually(() => delivered).toEqual([{ conversation_id: 4, seq: 1 }, { conversation_id: 5, seq: 1 }]);
  });

  it('on resync, calls sync for the named conversations and hands on what it returns', async () => {
    const syncs: unknown[] = [];
    let heldBack = false;
    hub.onConnection = (socket) => {
      socket.removeAllListeners('sync');
      socket.on('sync', (p, ack) => {
        syncs.push(p.cursors);
        const held = heldBack && p.cursors['5'] === 0 ? [msg(5, 1, 2, 'held back')] : [];
        ack({ ok: true, messages: held, has_more: false, conversation_ids: [4, 5] });
      });
    };
    hub.ready = () => ({ ...snapshot(), conversations: [] });
    const c = client();
    await statusReached(c, 'live');
    syncs.length = 0;
    heldBack = true;
    const got = nextEvent(c, 'message');
    hub.sockets()[0]!.emit('resync', { conversation_ids: [5] });
    expect((await got)[0].message).toBe('held back');
    expect(syncs).toEqual([{ 5: 0 }]);
  });
});

describe('job output', () => {
  const job = (seq: number, state: Job['state'] = 'active'): Job => ({
    job_id: '7', name: 'demo.stream', state, progress: seq * 10, status_text: null, result: null, error: null, attempts_made: 0,
    created_at: at(0), updated_at: at(seq), seq,
  });
  const chunk = (offset: number): OutputChunk => ({ offset, data: `w${offset} ` });

  it('hands on each chunk once and in order, and resumes from the last offset after a reconnect', async () => {
    const output = [chunk(0), chunk(1), chunk(2)];
    const watches: unknown[] = [];
    hub.onConnection = (socket) =>
      socket.on('job:watch', (p, ack) => {
        watches.push(p);
        const from = p.output_from ?? output.length;
        ack({ ok: true, job: job(output.length), output: output.filter((x) => x.offset >= from), output_has_more: false });
      });
    const c = client();
    const got: number[] = [];
    await c.watchJob('7', { onStatus: () => undefined, onOutput: (chunks) => got.push(...chunks.map((x) => x.offset)) });
    expect(got).toEqual([0, 1, 2]);

    const socket = hub.sockets()[0]!;
    socket.emit('job:output', { job_id: '7', chunks: [chunk(2), chunk(3)] });
    output.push(chunk(3), chunk(4));
    socket.emit('job:output', { job_id: '7', chunks: [chunk(4)] });
    await eventually(() => got).toEqual([0, 1, 2, 3, 4]);

    output.push(chunk(5));
    c.reconnect();
    await eventually(() => got).toEqual([0, 1, 2, 3, 4, 5]);
    expect(watches).toEqual([{ job_id: '7', output_from: 0 }, { job_id: '7', output_from: 5 }]);
  });

  it('a chunk that skips ahead makes it watch again from the missing offset', async () => {
    const output = [chunk(0), chunk(1), chunk(2)];
    const watches: unknown[] = [];
    hub.onConnection = (socket) =>
      socket.on('job:watch', (p, ack) => {
        watches.push(p);
        ack({ ok: true, job: job(1), output: output.filter((x) => x.offset >= (p.output_from ?? 3)), output_has_more: false });
      });
    const c = client();
    const store = inboxStore(c);
    const view = store.job('7');
    const off = view.subscribe(() => undefined);
    await eventually(() => view.getSnapshot().lines).toEqual(['w0 w1 w2 ']);
    output.push(chunk(3), chunk(4));
    hub.sockets()[0]!.emit('job:output', { job_id: '7', chunks: [chunk(4)] });
    await eventually(() => view.getSnapshot().output).toBe('w0 w1 w2 w3 w4 ');
    expect(watches).toEqual([{ job_id: '7', output_from: 0 }, { job_id: '7', output_from: 3 }]);
    off();
  });
});
