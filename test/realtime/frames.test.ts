import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type RunningApp } from '../helpers/app.js';
import { newConversation, newUser, type TestUser } from '../helpers/http.js';
import { connect, connectInbox, request } from '../helpers/sockets.js';

/** Frames up to 1 MiB always get an answer, whatever MAX_MESSAGE_LENGTH is; only bigger ones close. */
const MiB = 1024 * 1024;
let hub: RunningApp;
let ann: TestUser;
let conversationId: number;

beforeAll(async () => {
  hub = await startApp({ MAX_MESSAGE_LENGTH: '300' });
  const bob = await newUser(hub.url);
  ann = await newUser(hub.url);
  conversationId = (await newConversation(hub.url, ann, bob)).id;
});
afterAll(() => hub?.close());

const invalid = { ok: false, error: { code: 'invalid_payload', message: expect.any(String) } };
const tooLarge = { ok: false, error: { code: 'too_large', message: expect.any(String) } };

describe.each([['websocket'], ['polling']] as const)('frames up to 1 MiB over %s', (transport) => {
  it('a message over MAX_MESSAGE_LENGTH acks too_large, a malformed payload invalid_payload, and the socket stays', async () => {
    const { socket } = await connectInbox(hub.url, ann.cookie, { transports: [transport] });
    const pad = MiB - 200;
    expect(await request(socket, 'message', { conversation_id: conversationId, message: 'x'.repeat(100_000), type: 'TEXT' }, 20_000)).toEqual(tooLarge);
    expect(await request(socket, 'message', { conversation_id: conversationId, message: 'é'.repeat(pad / 2), type: 'TEXT' }, 20_000)).toEqual(tooLarge);
    expect(await request(socket, 'message', { conversation_id: conversationId, message: 1, type: 'TEXT', pad: 'x'.repeat(pad) }, 20_000)).toEqual(invalid);
    expect(await request(socket, 'sync', { cursors: { [conversationId]: 'x'.repeat(pad) } }, 20_000)).toEqual(invalid);
    expect(await request(socket, 'typing', { conversation_id: 'x'.repeat(pad) }, 20_000)).toEqual(invalid);
    expect(await request(socket, 'job:watch', { job_id: 'j'.repeat(pad) }, 20_000)).toEqual(invalid);
    const legacy = await connect(hub.url, ann.cookie, { namespace: `/chat/${conversationId}`, transports: [transport] });
    expect(await request(legacy, 'message', { message: 'y'.repeat(pad), type: 'TEXT' }, 20_000)).toEqual(tooLarge);
    expect(socket.connected && legacy.connected).toBe(true);
    const ok = await request(socket, 'message', { conversation_id: conversationId, message: 'still here', type: 'TEXT' });
    expect(ok.ok).toBe(true);
    socket.close();
    legacy.close();
  }, 60_000);
});

describe('frames above the limit', () => {
  it('close only that connection', async () => {
    const { socket: victim } = await connectInbox(hub.url, ann.cookie);
    const { socket: bystander } = await connectInbox(hub.url, ann.cookie);
    const closed = new Promise((r) => victim.once('disconnect', r));
    victim.emit('message', { conversation_id: conversationId, message: 'x'.repeat(MiB + 8192), type: 'TEXT' }, () => {});
    expect(await closed).toBe('transport close');
    expect((await request(bystander, 'typing', { conversation_id: conversationId })).ok).toBe(true);
    bystander.close();
  }, 30_000);
});
