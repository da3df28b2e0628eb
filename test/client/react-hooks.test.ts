import { Window } from 'happy-dom';
import { createElement, type ReactNode } from 'react';
import type { Root } from 'react-dom/client';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createInboxClient, memoryStorage, type Conversation, type InboxClient, type Job, type Message } from '@inbox-hub/client';
import { InboxProvider, useConversation, useInbox, useJob } from '@inbox-hub/client/react';
import { eventually } from './client-helpers.js';
import { startFakeHub, USER, type FakeHub, type FakeSocket } from './fake-hub.js';

/**
 * The React bindings rendered by react-dom into a happy-dom document (a small renderer of
 * our own: one probe component per hook), against a scripted hub. Only `document` comes from
 * happy-dom; fetch and sockets stay Node's, so the views talk to the hub as in a browser.
 */
let createRoot: (container: unknown, options?: { onUncaughtError?: (error: unknown) => void }) => Root;
let doc: Window['document'];
let hub: FakeHub;
const clients: InboxClient[] = [];
const roots: Root[] = [];

beforeAll(async () => {
  const window = new Window({ url: 'http://localhost/' });
  doc = window.document;
  Object.assign(globalThis, { window, document: doc, navigator: window.navigator });
  ({ createRoot } = (await import('react-dom/client')) as unknown as { createRoot: typeof createRoot });
});
beforeEach(async () => {
  hub = await startFakeHub();
});
afterEach(async () => {
  for (const r of roots.splice(0)) r.unmount();
  for (const c of clients.splice(0)) c.close();
  await hub.close();
});

function client(): InboxClient {
  const c = createInboxClient(hub.url, { transports: ['websocket'], reconnectionDelay: 50, reconnectionDelayMax: 100, storage: memoryStorage() });
  clients.push(c);
  return c;
}

/** Renders `hook` inside an InboxProvider; `renders` keeps every value it returned, in order. */
function renderHook<T>(c: InboxClient, hook: () => T) {
  const renders: T[] = [];
  const Probe = (): ReactNode => {
    renders.push(hook());
    return null;
  };
  const root = createRoot(doc.createElement('div'));
  roots.push(root);
  root.render(createElement(InboxProvider, { client: c }, createElement(Probe)));
  return { renders, latest: () => renders.at(-1)!, unmount: () => root.unmount() };
}

const at = (minute: number) => `2025-01-01T00:${String(minute).padStart(2, '0')}:00.000Z`;
const BOB = { id: 2, name: 'Bob', avatar_url: null };
const msg = (seq: number, senderId: number, text: string): Message => ({
  id: 100 + seq, conversation_id: 4, seq, sender_id: String(senderId), sender_name: senderId === 1 ? 'Ann' : 'Bob', sender_avatar: null,
  message: text, type: 'TEXT', created_at: at(seq), message_id: 100 + seq, client_msg_id: null,
});
const conversation: Conversation = {
  id: 4, client: { id: 1, name: 'Ann', avatar_url: null }, worker: BOB, created_at: at(0), last_message: null,
  unread_count: 1, last_seq: 0, read_seq: 0, peer_read_seq: 0, peer_delivered_seq: 0,
};

describe('useInbox', () => {
  it('renders status, conversations, unread totals and online peers, and follows presence', async () => {
    hub.ready = (user) => ({ user, conversation_ids: [4], conversations: [conversation], online_user_ids: [], unread_notices: 2 });
    const c = client();
    const view = renderHook(c, useInbox);
    await eventually(() => view.renders.length).toBeGreaterThan(0);
    expect(view.renders[0]).toMatchObject({ status: 'connecting', user: null, conversations: [], unreadTotal: 0 });
    await eventually(() => view.latest().status).toBe('live');
    expect(view.latest()).toMatchObject({ user: USER, conversations: [{ id: 4, unread_count: 1 }], unreadTotal: 1, unreadNotices: 2, onlineUserIds: [] });
    (hub.sockets()[0] as FakeSocket).emit('presence', { user_id: 2, online: true, last_seen_at: null });
    await eventually(() => view.latest().onlineUserIds).toEqual([2]);
  });

  it('throws a clear error outside an InboxProvider', () => {
    const errors: unknown[] = [];
    const Probe = (): ReactNode => {
      useInbox();
      return null;
    };
    const root = createRoot(doc.createElement('div'), { onUncaughtError: (e) => errors.push(e) });
    roots.push(root);
    root.render(createElement(Probe));
    return eventually(() => errors.map((e) => (e as Error).message)).toEqual(['Inbox hooks must be used inside <InboxProvider>']);
  });
});

describe('useConversation', () => {
  it('loads the latest page, then follows live messages in order and the peer typing', async () => {
    hub.ready = (user) => ({ user, conversation_ids: [4], conversations: [conversation], online_user_ids: [], unread_notices: 0 });
    for (let seq = 1; seq <= 3; seq++) hub.stored.push(msg(seq, 2, `old ${seq}`));
    const c = client();
    const view = renderHook(c, () => useConversation(4));
    // The catch-up after connecting may hand on the same messages first; each shows once.
    await eventually(() => view.latest().hasMore).toBe(false);
    expect(view.latest().messages.map((m) => m.seq)).toEqual([1, 2, 3]);

    const socket = hub.sockets()[0] as FakeSocket;
    hub.stored.push(msg(4, 2, 'live 4'));
    socket.emit('message', msg(4, 2, 'live 4'));
    socket.emit('typing', { conversation_id: 4, user_id: 2 });
    await eventually(() => view.latest().typingUserIds).toEqual([2]);
    expect(view.latest().messages.map((m) => m.message)).toEqual(['old 1', 'old 2', 'old 3', 'live 4']);
    expect(view.latest().conversation).toMatchObject({ id: 4, last_seq: 4 });
  });

  it('pages back through history with loadOlder', async () => {
    for (let seq = 1; seq <= 60; seq++) hub.stored.push(msg(seq, 2, `m${seq}`));
    // A client that has already seen all 60: its catch-up sync after connecting hands on
    // nothing, so the view holds exactly the latest page until it asks for the older one
    // (from cursor 0 that sync could hand on all 60 before the page arrives).
    const c = createInboxClient(hub.url, { transports: ['websocket'], storage: memoryStorage(), cursors: { 4: 60 } });
    clients.push(c);
    const view = renderHook(c, () => useConversation(4));
    await eventually(() => view.latest().messages.length).toBe(50);
    expect(view.latest()).toMatchObject({ hasMore: true, loading: false });
    await view.latest().loadOlder();
    await eventually(() => view.latest().messages.map((m) => m.seq)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(view.latest().hasMore).toBe(false);
  });

  it('send shows the message in outgoing until stored, then in messages: never both, never twice', async () => {
    hub.plan = (_p, attempt) => (attempt === 1 ? 'lose-all' : 'ack');
    const c = createInboxClient(hub.url, { transports: ['websocket'], storage: memoryStorage(), ackTimeoutMs: 300, sendRetryMs: 50 });
    clients.push(c);
    const view = renderHook(c, () => useConversation(4));
    await eventually(() => view.latest().loading).toBe(false);
    const handle = view.latest().send('hello hooks');
    await eventually(() => view.latest().outgoing.map((m) => [m.message, m.status])).toEqual([['hello hooks', 'pending']]);
    await handle.sent;
    await eventually(() => view.latest().messages.map((m) => m.message)).toEqual(['hello hooks']);
    expect(view.latest().outgoing).toEqual([]);
    const shownTwice = view.renders.filter((r) => r.messages.length + r.outgoing.length > 1);
    expect(shownTwice).toEqual([]);
    expect(hub.sends).toHaveLength(2);
  });
});

describe('useJob', () => {
  it('follows state, progress and output lines while mounted, and unwatches on unmount', async () => {
    const job = (seq: number, state: Job['state'], progress: number): Job => ({
      job_id: '7', name: 'demo.steps', state, progress, status_text: null, result: null, error: null, attempts_made: 0,
      created_at: at(0), updated_at: at(seq), seq,
    });
    const unwatched: string[] = [];
    hub.onConnection = (socket) => {
      socket.on('job:watch', (_p, ack) => {
        void socket.join('job_7');
        ack({ ok: true, job: job(1, 'active', 50), output: [{ offset: 0, data: 'step 1\n' }], output_has_more: false });
      });
      socket.on('job:unwatch', (p, ack) => {
        unwatched.push(p.job_id);
        ack({ ok: true });
      });
    };
    const c = client();
    const view = renderHook(c, () => useJob('7'));
    await eventually(() => view.renders.length).toBeGreaterThan(0);
    expect(view.renders[0]).toEqual({ job: null, output: '', lines: [], error: null });
    await eventually(() => view.latest().lines).toEqual(['step 1']);
    hub.io.of('/inbox').to('job_7').emit('job:output', { job_id: '7', chunks: [{ offset: 1, data: 'step 2\n' }] });
    hub.io.of('/inbox').to('job_7').emit('job:status', job(2, 'completed', 100));
    await eventually(() => view.latest().job?.state).toBe('completed');
    expect(view.latest()).toMatchObject({ job: { progress: 100 }, lines: ['step 1', 'step 2'], error: null });
    view.unmount();
    await eventually(() => unwatched).toEqual(['7']);
  });
});
