import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type RunningApp } from '../helpers/app.js';
import { newConversation, newUser } from '../helpers/http.js';
import { collect, connect, connectInbox, request, waitFor, type ClientSocket } from '../helpers/sockets.js';

let hub: RunningApp;
const open: ClientSocket[] = [];
beforeAll(async () => {
  hub = await startApp();
});
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});
afterAll(() => hub.close());

const track = <T extends ClientSocket>(s: T) => (open.push(s), s);

describe('legacy /chat/<conversation_id>', () => {
  it('refuses a non-member and an anonymous client at connect', async () => {
    const [ann, bob, eve] = await Promise.all([newUser(hub.url), newUser(hub.url), newUser(hub.url)]);
    const conv = await newConversation(hub.url, ann, bob);
    await expect(connect(hub.url, eve.cookie, { namespace: `/chat/${conv.id}` })).rejects.toThrow('forbidden');
    await expect(connect(hub.url, undefined, { namespace: `/chat/${conv.id}` })).rejects.toThrow('unauthorized');
    await expect(connect(hub.url, eve.cookie, { namespace: '/chat/999999' })).rejects.toThrow('forbidden');
  });

  it('messages flow both ways between /chat/<id> and /inbox, and only that conversation\'s reach it', async () => {
    const [ann, bob] = await Promise.all([newUser(hub.url, { name: 'Ann' }), newUser(hub.url, { name: 'Bob' })]);
    const conv = await newConversation(hub.url, ann, bob);
    const carol = await newUser(hub.url);
    const otherConv = await newConversation(hub.url, ann, carol);
    const legacy = track(await connect(hub.url, ann.cookie, { namespace: `/chat/${conv.id}`, transports: ['polling', 'websocket'] }));
    const bobInbox = track((await connectInbox(hub.url, bob.cookie)).socket);
    const annInbox = track((await connectInbox(hub.url, ann.cookie)).socket);
    const legacyGot = collect(legacy, 'message');

    const toBob = waitFor(bobInbox, 'message');
    const ack = await request(legacy, 'message', { message: 'from legacy', type: 'TEXT' });
    expect(ack.ok).toBe(true);
    expect(ack.message).toMatchObject({ conversation_id: conv.id, seq: 1, message: 'from legacy', sender_id: String(ann.user.id) });
    expect(await toBob).toEqual(ack.message);

    await request(annInbox, 'message', { conversation_id: otherConv.id, message: 'elsewhere', type: 'TEXT' });
    const toLegacy = waitFor(legacy, 'message', (m) => m.message === 'from inbox');
    const reply = await request(bobInbox, 'message', { conversation_id: conv.id, message: 'from inbox', type: 'TEXT' });
    expect(await toLegacy).toEqual(reply.message);
    expect(legacyGot.map((m) => m.message)).toEqual(['from legacy', 'from inbox']);

    expect(await request(legacy, 'message', { message: '', type: 'TEXT' })).toEqual({
      ok: false,
      error: { code: 'invalid_payload', message: expect.any(String) },
    });
  });
});
