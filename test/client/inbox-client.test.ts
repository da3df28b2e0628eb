import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createInboxClient, type InboxClient } from '@inbox-hub/client';
import { chatRoom, userRoom } from '../../src/realtime/rooms.js';
import { startApp, type RunningApp } from '../helpers/app.js';
import { newConversation, newUser, type TestUser } from '../helpers/http.js';
import { clientFor, messageLog, nextEvent, outgoing, statusReached } from './client-helpers.js';

let hub: RunningApp;
const open: InboxClient[] = [];
beforeAll(async () => {
  hub = await startApp({ MESSAGE_RATE_LIMIT: '1000' });
});
afterEach(() => {
  for (const c of open.splice(0)) c.close();
});
afterAll(() => hub.close());

async function live(user: TestUser, options: Parameters<typeof clientFor>[2] = {}) {
  const client = clientFor(hub.url, user, options);
  open.push(client);
  const log = messageLog(client);
  await statusReached(client, 'live');
  return { client, log };
}

async function pair() {
  const [ann, bob] = await Promise.all([newUser(hub.url, { name: 'Ann' }), newUser(hub.url, { name: 'Bob' })]);
  const conv = await newConversation(hub.url, ann, bob);
  return { ann, bob, conv };
}

const inbox = () => hub.app.io.of('/inbox');
// `local`: the Redis adapter applies a cluster-wide socketsJoin/socketsLeave only once its own
// request comes back through Redis, so a message sent right after could still miss (or reach)
// the socket. The hub here is one in-process pod, where the local form takes effect at once.
const leaveChat = (user: TestUser, conversationId: number) => inbox().local.in(userRoom(user.user.id)).socketsLeave(chatRoom(conversationId));
const joinChat = (user: TestUser, conversationId: number) => inbox().local.in(userRoom(user.user.id)).socketsJoin(chatRoom(conversationId));

/** What a dropped network looks like to the client: the hub's end of the transport closes. */
function dropConnections(user: TestUser): void {
  for (const socket of inbox().sockets.values()) if (socket.data.user.id === user.user.id) socket.conn.close();
}

describe('createInboxClient: ordering', () => {
  it('hands every message on once and in seq order, the sender\'s own included (ack and echo)', async () => {
    const { ann, bob, conv } = await pair();
    const [a, b] = [await live(ann), await live(bob)];
    const sent = [await a.client.send(conv.id, 'one').sent, await a.client.send(conv.id, 'two').sent, await b.client.send(conv.id, 'three').sent];
    await a.log.until(3);
    await b.log.until(3);
    const sentinel = await b.client.send(conv.id, 'four').sent;
    await a.log.until(4);
    expect(a.log.messages).toEqual([...sent, sentinel]);
    expect(b.log.messages).toEqual([...sent, sentinel]);
    expect(sent.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(a.client.lastSeq(conv.id)).toBe(4);
  });

  it('delivers the history of a conversation without a cursor from seq 1 on connect', async () => {
    const { ann, bob, conv } = await pair();
    const a = await live(ann);
    for (const text of ['m1', 'm2', 'm3']) await a.client.send(conv.id, text).sent;
    const b = await live(bob);
    expect(b.log.messages.map((m) => [m.seq, m.message])).toEqual([[1, 'm1'], [2, 'm2'], [3, 'm3']]);
  });

  it('starts from the cursors it is given and hands on only newer messages', async () => {
    const { ann, bob, conv } = await pair();
    const a = await live(ann);
    for (const text of ['m1', 'm2', 'm3']) await a.client.send(conv.id, text).sent;
    const b = await live(bob, { cursors: { [conv.id]: 2 } });
    expect(b.log.messages.map((m) => m.seq)).toEqual([3]);
  });
});

describe('createInboxClient: gaps, reconnects, duplicates', () => {
  it('on a skipped seq, syncs and hands on the missing messages before the later one', async () => {
    const { ann, bob, conv } = await pair();
    const a = await live(ann);
    const b = await live(bob);
    const syncs = outgoing(b.client, 'sync');
    leaveChat(bob, conv.id);
    await a.client.send(conv.id, 'missed 1').sent;
    await a.client.send(conv.id, 'missed 2').sent;
    joinChat(bob, conv.id);
    await a.client.send(conv.id, 'seen 3').sent;
    await b.log.until(3);
    expect(b.log.messages.map((m) => [m.seq, m.message])).toEqual([[1, 'missed 1'], [2, 'missed 2'], [3, 'seen 3']]);
    expect(syncs).toEqual([{ cursors: { [conv.id]: 0 }, limit: 100 }]);
  });

  it('after the connection drops, reconnects and syncs what it missed, with no later message to reveal it', async () => {
    const { ann, bob, conv } = await pair();
    const a = await live(ann);
    const b = await live(bob);
    const statuses: string[] = [];
    b.client.on('status', (s) => statuses.push(s));
    const syncs = outgoing(b.client, 'sync');
    leaveChat(bob, conv.id);
    await a.client.send(conv.id, 'while away 1').sent;
    await a.client.send(conv.id, 'while away 2').sent;
    dropConnections(bob);
    await b.log.until(2);
    await statusReached(b.client, 'live');
    expect(b.log.messages.map((m) => m.message)).toEqual(['while away 1', 'while away 2']);
    expect(statuses).toEqual(['reconnecting', 'syncing', 'live']);
    expect(syncs).toEqual([{ cursors: { [conv.id]: 0 }, limit: 100 }]);
  });

  it('reconnect() drops the transport at once and catches up', async () => {
    const { ann, bob, conv } = await pair();
    const a = await live(ann);
    const b = await live(bob);
    const backLive = nextEvent(b.client, 'status', (s) => s === 'live');
    b.client.reconnect();
    expect(b.client.status).toBe('reconnecting');
    await backLive;
    await a.client.send(conv.id, 'after').sent;
    await b.log.until(1);
    expect(b.log.messages.map((m) => m.message)).toEqual(['after']);
  });

  it('drops a message whose seq it has already handed on (a re-broadcast, a sync overlapping live traffic)', async () => {
    const { ann, bob, conv } = await pair();
    const a = await live(ann);
    const b = await live(bob);
    const first = await a.client.send(conv.id, 'once').sent;
    await b.log.until(1);
    inbox().to(chatRoom(conv.id)).emit('message', first);
    b.client.sync();
    await statusReached(b.client, 'live');
    const sentinel = await a.client.send(conv.id, 'sentinel').sent;
    await b.log.until(2);
    expect(b.log.messages).toEqual([first, sentinel]);
  });

  it('follows a conversation created after connecting from its first message', async () => {
    const { bob } = await pair();
    const carol = await newUser(hub.url, { name: 'Carol' });
    const b = await live(bob);
    const c = await live(carol);
    const announced = nextEvent(b.client, 'conversation');
    const conv = await newConversation(hub.url, carol, bob);
    const [conversation] = await announced;
    expect(conversation).toMatchObject({ id: conv.id, last_message: null, unread_count: 0 });
    await c.client.send(conv.id, 'hello Bob').sent;
    await b.log.until(1);
    expect(b.log.messages.map((m) => [m.conversation_id, m.seq])).toEqual([[conv.id, 1]]);
  });
});

describe('createInboxClient: requests and refusals', () => {
  it('answers typing and read, and rejects a refused request with the hub\'s error code', async () => {
    const { ann, bob, conv } = await pair();
    const a = await live(ann);
    const b = await live(bob);
    const typing = nextEvent(b.client, 'typing');
    await a.client.typing(conv.id);
    expect(await typing).toEqual([{ conversation_id: conv.id, user_id: ann.user.id }]);
    const message = await a.client.send(conv.id, 'read me').sent;
    const read = nextEvent(a.client, 'read');
    await b.client.markRead(conv.id, message.seq);
    expect(await read).toEqual([{ conversation_id: conv.id, user_id: bob.user.id, seq: 1 }]);
    await expect(a.client.send(conv.id + 100_000, 'nope').sent).rejects.toMatchObject({ name: 'InboxClientError', code: 'forbidden' });
  });

  it('closes without a valid session: ready() rejects and the error names the cause', async () => {
    const client = createInboxClient(hub.url, { extraHeaders: { cookie: 'sessionid=forged.value' }, transports: ['websocket'] });
    open.push(client);
    const error = nextEvent(client, 'error');
    await expect(client.ready()).rejects.toMatchObject({ code: 'connect' });
    expect((await error)[0]).toMatchObject({ code: 'connect', message: 'unauthorized' });
    expect(client.status).toBe('closed');
  });
});
