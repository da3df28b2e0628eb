import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { inboxStore, type InboxClient } from '@inbox-hub/client';
import { startApp, type RunningApp } from '../helpers/app.js';
import { api, newConversation, newUser, type TestUser } from '../helpers/http.js';
import { clientFor, eventually, messageLog, nextEvent, outgoing, statusReached } from './client-helpers.js';

// The typed client's snapshot and receipts against a real hub (one in-process pod).
let hub: RunningApp;
const open: InboxClient[] = [];
beforeAll(async () => {
  hub = await startApp({ MESSAGE_RATE_LIMIT: '1000' });
});
afterEach(() => {
  for (const c of open.splice(0)) c.close();
});
afterAll(() => hub.close());

async function live(user: TestUser, deliveredDelayMs = 50) {
  const client = clientFor(hub.url, user, { deliveredDelayMs });
  open.push(client);
  const log = messageLog(client);
  const sentDelivered = outgoing(client, 'delivered');
  await statusReached(client, 'live');
  return { client, log, store: inboxStore(client), sentDelivered };
}

const listed = async (u: TestUser) => (await api(hub.url, 'GET', '/api/conversations', { cookie: u.cookie })).body.conversations;

describe('createInboxClient with the hub\'s snapshot and receipts', () => {
  it('the store starts from ready\'s conversations, exactly the hub\'s objects', async () => {
    const [ann, bob] = await Promise.all([newUser(hub.url, { name: 'Ann' }), newUser(hub.url, { name: 'Bob' })]);
    await newConversation(hub.url, ann, bob);
    const a = await live(ann);
    expect(a.client.readyInfo!.conversations).toEqual(await listed(ann));
    expect(a.store.getSnapshot().conversations).toEqual(await listed(ann));
  });

  it('sends delivered by itself for the other member\'s messages it shows; the sender sees sent -> delivered -> read', async () => {
    const [ann, bob] = await Promise.all([newUser(hub.url, { name: 'Ann' }), newUser(hub.url, { name: 'Bob' })]);
    const conv = await newConversation(hub.url, ann, bob);
    const a = await live(ann);
    const b = await live(bob, 300);
    const sent = await Promise.all(['one', 'two', 'three'].map((t) => a.client.send(conv.id, t).sent));
    expect(sent.map((m) => m.seq).sort()).toEqual([1, 2, 3]);
    const third = sent.find((m) => m.seq === 3)!;
    expect(a.store.deliveryStatus(third)).toBe('sent');

    const [delivered] = await nextEvent(a.client, 'delivered', (e) => e.seq === 3);
    expect(delivered).toEqual({ conversation_id: conv.id, user_id: bob.user.id, seq: 3 });
    // One marker for the burst (gathered for deliveredDelayMs), none from Ann for her own messages.
    expect(b.sentDelivered).toEqual([{ conversation_id: conv.id, seq: 3 }]);
    await eventually(() => a.store.deliveryStatus(third)).toBe('delivered');

    const read = nextEvent(a.client, 'read', (e) => e.seq === 3);
    await b.client.markRead(conv.id, 3);
    await read;
    await eventually(() => a.store.deliveryStatus(third)).toBe('read');
    expect(a.sentDelivered).toEqual([]);
    const annView = (await listed(ann))[0];
    expect(annView).toMatchObject({ peer_read_seq: 3, peer_delivered_seq: 3 });
    expect(a.store.getSnapshot().conversations[0]).toMatchObject({ peer_read_seq: 3, peer_delivered_seq: 3, last_seq: 3 });
  });

  it('messages caught up through sync after a reconnect are marked delivered too, as one marker', async () => {
    const [ann, bob] = await Promise.all([newUser(hub.url, { name: 'Ann' }), newUser(hub.url, { name: 'Bob' })]);
    const conv = await newConversation(hub.url, ann, bob);
    const a = await live(ann);
    for (const t of ['1', '2', '3', '4']) await a.client.send(conv.id, t).sent;
    const b = await live(bob);
    await b.log.until(4);
    const [delivered] = await nextEvent(a.client, 'delivered', (e) => e.seq === 4);
    expect(delivered).toEqual({ conversation_id: conv.id, user_id: bob.user.id, seq: 4 });
    expect(b.sentDelivered).toEqual([{ conversation_id: conv.id, seq: 4 }]);
  });
});
