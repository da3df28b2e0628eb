import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../src/redis.js';
import { adapterKey } from '../../src/redis-keys.js';
import { chatRoom } from '../../src/realtime/rooms.js';
import { startApp, type RunningApp } from '../helpers/app.js';
import { testEnv } from '../helpers/config.js';
import { newConversation, newUser } from '../helpers/http.js';
import { collect, connect, connectInbox, request, waitFor, type ClientSocket } from '../helpers/sockets.js';
import { filePrefix } from '../jobs/support.js';

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

/** Every publish on a hub's adapter channels while `act` runs, by channel suffix; a sentinel closes the window. */
async function adapterPublishes(prefix: string, act: () => Promise<void>): Promise<Record<string, number>> {
  const key = adapterKey({ REDIS_PREFIX: prefix });
  const sub = createRedis({ url: testEnv().REDIS_URL, name: 'legacy-test-sub' });
  const pub = createRedis({ url: testEnv().REDIS_URL, name: 'legacy-test-pub' });
  const seen: Record<string, number> = {};
  const sentinel = `${key}-test-sentinel`;
  const closed = new Promise<void>((resolve) =>
    sub.on('pmessage', (_pattern: string, channel: string) => {
      if (channel === sentinel) return resolve();
      const suffix = channel.slice(key.length);
      seen[suffix] = (seen[suffix] ?? 0) + 1;
    }),
  );
  try {
    await sub.psubscribe(`${key}*`);
    await act();
    await pub.publish(sentinel, 'end');
    await closed;
    return seen;
  } finally {
    sub.disconnect();
    pub.disconnect();
  }
}

describe('LEGACY_CHAT', () => {
  async function oneInboxMessage(env: Record<string, string>) {
    const prefix = filePrefix(`legacy-${env.LEGACY_CHAT}`);
    const own = await startApp({ ...env, REDIS_PREFIX: prefix });
    try {
      const [ann, bob] = await Promise.all([newUser(own.url), newUser(own.url)]);
      const conv = await newConversation(own.url, ann, bob);
      const annInbox = track((await connectInbox(own.url, ann.cookie)).socket);
      const bobInbox = track((await connectInbox(own.url, bob.cookie)).socket);
      const legacy = await connect(own.url, ann.cookie, { namespace: `/chat/${conv.id}` }).then(
        (s) => (track(s), 'connected'),
        (err: Error) => err.message,
      );
      const publishes = await adapterPublishes(prefix, async () => {
        const toBob = waitFor(bobInbox, 'message');
        const ack = await request(annInbox, 'message', { conversation_id: conv.id, message: 'hi', type: 'TEXT' });
        expect(await toBob).toEqual(ack.message);
      });
      return { publishes, legacy, room: `#/inbox#${chatRoom(conv.id)}#` };
    } finally {
      await own.close();
    }
  }

  it('on (the default): /chat/<id> connects, and a message is relayed to other pods for their legacy sockets', async () => {
    const { publishes, legacy, room } = await oneInboxMessage({ LEGACY_CHAT: 'true' });
    expect(publishes).toEqual({ [room]: 1, '-request#/inbox#': 1 });
    expect(legacy).toBe('connected');
  });

  it('false: /chat/<id> is not served, and a message is one publish on the room channel', async () => {
    const { publishes, legacy, room } = await oneInboxMessage({ LEGACY_CHAT: 'false' });
    expect(publishes).toEqual({ [room]: 1 });
    expect(legacy).toBe('Invalid namespace');
  });
});
