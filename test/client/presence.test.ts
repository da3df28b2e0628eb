import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { inboxStore, type InboxClient } from '@inbox-hub/client';
import { startApp, type RunningApp } from '../helpers/app.js';
import { newConversation, newUser, type TestUser } from '../helpers/http.js';
import { clientFor, eventually, nextEvent, statusReached } from './client-helpers.js';

// The typed client's presence against a real hub (one in-process pod; a short grace, 300 ms, via env).
let hub: RunningApp;
const open: InboxClient[] = [];
beforeAll(async () => {
  hub = await startApp({ PRESENCE_GRACE_MS: '300' });
});
afterEach(() => {
  for (const c of open.splice(0)) c.close();
});
afterAll(() => hub.close());

async function live(user: TestUser) {
  const client = clientFor(hub.url, user);
  open.push(client);
  await statusReached(client, 'live');
  return { client, store: inboxStore(client) };
}

describe('createInboxClient with the hub\'s presence', () => {
  it('readyInfo.online_user_ids and the store\'s onlineUserIds follow the peers\' presence', async () => {
    const [ann, bob, eve] = await Promise.all([newUser(hub.url), newUser(hub.url), newUser(hub.url)]);
    await newConversation(hub.url, ann, bob);
    const e = await live(eve);
    const b = await live(bob);
    expect(b.client.readyInfo!.online_user_ids).toEqual([]);
    const came = nextEvent(b.client, 'presence');
    const a = await live(ann);
    expect(a.client.readyInfo!.online_user_ids).toEqual([bob.user.id]);
    expect(a.store.getSnapshot().onlineUserIds).toEqual([bob.user.id]);
    expect((await came)[0]).toEqual({ user_id: ann.user.id, online: true, last_seen_at: null });
    expect(b.store.getSnapshot().onlineUserIds).toEqual([ann.user.id]);

    const went = nextEvent(b.client, 'presence');
    a.client.close();
    const [offline] = await went;
    expect(offline).toEqual({ user_id: ann.user.id, online: false, last_seen_at: expect.any(String) });
    await eventually(() => b.store.getSnapshot().onlineUserIds).toEqual([]);
    expect(e.store.getSnapshot().onlineUserIds).toEqual([]);
  });
});
