import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ConversationDto, MessageDto } from '../../src/realtime/protocol.js';
import { userRoom } from '../../src/realtime/rooms.js';
import { startApp, type RunningApp } from '../helpers/app.js';
import { testEnv } from '../helpers/config.js';
import { api, newUser, type TestUser } from '../helpers/http.js';
import { startPgQueryLog, type PgQueryLog } from '../helpers/pg-query-log.js';
import { collect, connectInbox, request, waitFor, type ClientSocket } from '../helpers/sockets.js';

// One in-process hub whose pool reaches Postgres through a proxy that logs every statement.
let pg: PgQueryLog;
let hub: RunningApp;
const open: ClientSocket[] = [];
beforeAll(async () => {
  pg = await startPgQueryLog(testEnv().DATABASE_URL);
  hub = await startApp({ DATABASE_URL: pg.url, MESSAGE_RATE_LIMIT: '1000', CONVERSATION_RATE_LIMIT: '1000' });
});
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});
afterAll(async () => {
  await hub?.close();
  await pg?.close();
});

async function inbox(user: TestUser) {
  const c = await connectInbox(hub.url, user.cookie);
  open.push(c.socket);
  return c;
}

const listed = async (u: TestUser): Promise<ConversationDto[]> => (await api(hub.url, 'GET', '/api/conversations', { cookie: u.cookie })).body.conversations;

/** `n` conversations of `user` with users made in SQL (no password hashing), the newest activity last. */
async function conversationsFor(user: TestUser, n: number): Promise<number[]> {
  const sql = hub.app.dbHandle.sql;
  const others = await sql<{ id: number }[]>`
    insert into users (email, name, password_hash)
    select 'peer-' || ${user.user.id} || '-' || g || '@example.test', 'Peer ' || g, 'x' from generate_series(1, ${n}) g
    returning id`;
  const rows = await sql<{ id: number }[]>`
    insert into conversations (client_id, worker_id, created_at, last_activity_at)
    select ${user.user.id}, o.id, now() - make_interval(secs => ${n} - o.ord), now() - make_interval(secs => ${n} - o.ord)
    from unnest(${others.map((o) => o.id)}::int[]) with ordinality as o(id, ord)
    returning id`;
  return rows.map((r) => r.id);
}

/** The statements one connect runs, from the handshake to `ready` (the session sweep aside). */
async function statementsOfConnect(user: TestUser) {
  const from = pg.statements.length;
  const c = await inbox(user);
  const statements = pg.statements.slice(from).filter((s) => !s.includes('id = any('));
  return { ready: c.ready, statements };
}

describe('ready', () => {
  it('carries every conversation id and the 100 most recently active, exactly as GET /api/conversations lists them', async () => {
    const ann = await newUser(hub.url, { name: 'Ann' });
    const ids = await conversationsFor(ann, 105);
    const { ready } = await inbox(ann);
    const all = await listed(ann);
    expect(all).toHaveLength(105);
    expect(ready).toEqual({ user: ann.user, conversation_ids: [...ids].sort((a, b) => a - b), conversations: all.slice(0, 100), online_user_ids: [], unread_notices: 0 });
    expect(ready.conversations[0]!.id).toBe(ids.at(-1));
  });

  it('costs the same two statements with 5 and with 200 conversations: session with the conversation ids, snapshot', async () => {
    const [few, many] = await Promise.all([newUser(hub.url), newUser(hub.url)]);
    await conversationsFor(few, 5);
    await conversationsFor(many, 200);
    const shapes: string[][] = [];
    for (const user of [few, many, few, many]) {
      const { ready, statements } = await statementsOfConnect(user);
      expect(ready.conversation_ids).toHaveLength(user === few ? 5 : 200);
      shapes.push(statements);
    }
    expect(shapes[0]!.map(kind)).toEqual(['session with conversation ids', 'snapshot']);
    for (const s of shapes) expect(s).toEqual(shapes[0]);
  });

  it('a conversation created after the ids were loaded, before the socket joined its rooms, is joined and listed', async () => {
    const [ann, bob, carol] = await Promise.all([newUser(hub.url, { name: 'Ann' }), newUser(hub.url, { name: 'Bob' }), newUser(hub.url)]);
    const probe = await inbox(carol);
    const conversations = hub.app.services.conversations;
    const sessions = hub.app.services.sessions;
    const resolve = sessions.resolveWithConversations.bind(sessions);
    let created: ConversationDto | null = null;
    // The window: the handshake has read the session and the ids, and the socket is not in
    // user_<id> yet, so the new conversation's cluster-wide join finds no socket of Bob's. A
    // second cluster-wide join, to Carol's socket, comes back through Redis after it: once
    // Carol has joined, the first is done.
    sessions.resolveWithConversations = async (token) => {
      const found = await resolve(token);
      if (found?.user.id === bob.user.id && !created) {
        ({ conversation: created } = await conversations.open({ id: ann.user.id }, { client_id: ann.user.id, worker_id: bob.user.id }, async () => {}));
        const inboxNsp = hub.app.io.of('/inbox');
        const landed = new Promise<void>((resolve) => inboxNsp.adapter.on('join-room', (room: string, id: string) => room === 'probe' && id === probe.socket.id && resolve()));
        inboxNsp.in(userRoom(carol.user.id)).socketsJoin('probe');
        await landed;
      }
      return found;
    };
    try {
      const b = await inbox(bob);
      expect(b.ready.conversation_ids).toEqual([created!.id]);
      expect(b.ready.conversations.map((c) => c.id)).toEqual([created!.id]);
      const got = waitFor(b.socket, 'message');
      const a = await inbox(ann);
      const ack = await request(a.socket, 'message', { conversation_id: created!.id, message: 'live', type: 'TEXT' });
      expect(await got).toEqual(ack.message);
    } finally {
      sessions.resolveWithConversations = resolve;
    }
  });
});

describe('a new conversation on the pod that created it', () => {
  it('its first message, broadcast right after the creation, reaches this pod\'s sockets of both members', async () => {
    const [ann, bob] = await Promise.all([newUser(hub.url, { name: 'Ann' }), newUser(hub.url, { name: 'Bob' })]);
    const a = await inbox(ann);
    const b = await inbox(bob);
    const seen = [collect(a.socket, 'message'), collect(b.socket, 'message')];
    const { conversation } = await hub.app.services.conversations.open({ id: ann.user.id }, { client_id: ann.user.id, worker_id: bob.user.id }, async () => {});
    // Before the adapter's own join request can have come back through Redis.
    const first: MessageDto = {
      id: 2_000_000_000, conversation_id: conversation.id, seq: 1, sender_id: String(ann.user.id), sender_name: 'Ann', sender_avatar: null,
      message: 'first', type: 'TEXT', created_at: new Date().toISOString(), message_id: 2_000_000_000, client_msg_id: null,
    };
    hub.app.broadcaster.message(first);
    const sentinel = Promise.all([a, b].map((s) => waitFor(s.socket, 'message', (m) => m.message === 'second')));
    const second = await request(a.socket, 'message', { conversation_id: conversation.id, message: 'second', type: 'TEXT' });
    await sentinel;
    for (const s of seen) expect(s).toEqual([first, second.message]);
  });
});

function kind(sql: string): string {
  if (/from sessions s\s+join users/.test(sql)) return /as conversation_ids/.test(sql) ? 'session with conversation ids' : 'session';
  if (/^\s*select id from conversations where client_id/.test(sql)) return 'conversation ids';
  if (/with mine as/.test(sql)) return 'snapshot';
  return sql;
}
