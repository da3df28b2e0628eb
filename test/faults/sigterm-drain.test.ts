import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHUTTING_DOWN } from '../../src/realtime/drain.js';
import { startApp, type RunningApp } from '../helpers/app.js';
import { testEnv } from '../helpers/config.js';
import { newConversation, newUser } from '../helpers/http.js';
import { connectInbox, request } from '../helpers/sockets.js';

// A hub closing (what SIGTERM runs) while a message is being stored: the message is acked
// before its socket is closed, and an event arriving meanwhile is refused, not dropped.
let hub: RunningApp;
let closed = false;
beforeAll(async () => {
  hub = await startApp({ MESSAGE_RATE_LIMIT: '1000' });
});
afterAll(async () => {
  if (!closed) await hub?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('closing a hub with socket events in flight', () => {
  it('acks the event in flight before closing its socket, refuses a later one with "shutting down", then closes', async () => {
    const [ann, bob] = await Promise.all([newUser(hub.url), newUser(hub.url)]);
    const conversation = await newConversation(hub.url, ann, bob);
    const { socket } = await connectInbox(hub.url, ann.cookie);
    const send = (id: string) => request(socket, 'message', { conversation_id: conversation.id, message: id, type: 'TEXT', client_msg_id: id }, 15_000);

    // Another session holds the conversation's row lock: the insert waits for it.
    const sql = hub.app.dbHandle.sql;
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const holding = sql.begin(async (tx) => {
      await tx`select id from conversations where id = ${conversation.id} for update`;
      locked();
      await released;
    });
    await isLocked;
    const inFlight = send('in-flight');
    await sleep(300); // it reached the hub and waits on the lock
    const disconnected = new Promise<string>((r) => socket.once('disconnect', r));
    const closing = hub.close();
    closed = true;
    await sleep(100);

    expect(await send('too-late')).toEqual({ ok: false, error: SHUTTING_DOWN });
    expect(socket.connected).toBe(true); // still open: its first event has not acked yet
    release();
    expect(await inFlight).toEqual({ ok: true, message: expect.objectContaining({ client_msg_id: 'in-flight', conversation_id: conversation.id }) });
    expect(await disconnected).toBe('transport close');
    await holding;
    await closing;

    const check = postgres(testEnv().DATABASE_URL!, { max: 1, onnotice: () => {} });
    try {
      const rows = await check`select client_msg_id from messages where conversation_id = ${conversation.id}`;
      expect(rows.map((r) => r.client_msg_id)).toEqual(['in-flight']);
    } finally {
      await check.end();
    }
  }, 60_000);
});
