import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createInboxClient, memoryStorage, type InboxClient, type InboxClientOptions, type OutboxStorage, type OutgoingMessage } from '@inbox-hub/client';
import { eventually, nextEvent, statusReached } from './client-helpers.js';
import { startFakeHub, type FakeHub } from './fake-hub.js';

/** The outbox against a scripted hub: lost acks, refusals and restarts on cue. */
let hub: FakeHub;
const clients: InboxClient[] = [];

beforeEach(async () => {
  hub = await startFakeHub();
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await hub.close();
});

function client(options: InboxClientOptions = {}): InboxClient {
  const c = createInboxClient(hub.url, { transports: ['websocket'], reconnectionDelay: 50, reconnectionDelayMax: 100, ...options });
  clients.push(c);
  return c;
}

/** Every message the app was handed, as `seq:text`. */
function shown(c: InboxClient): string[] {
  const log: string[] = [];
  c.on('message', (m) => log.push(`${m.seq}:${m.message}`));
  return log;
}

const outboxEmpty = (c: InboxClient) => (c.pending().length === 0 ? Promise.resolve() : nextEvent(c, 'outbox', (list) => list.length === 0));

describe('the outbox', () => {
  it('returns a pending message at once, sends it once connected, and settles it once', async () => {
    const storage = memoryStorage();
    const c = client({ storage });
    const log = shown(c);
    const { outgoing, sent } = c.send(4, 'hello');
    expect(outgoing).toEqual({
      client_msg_id: expect.stringMatching(/^[0-9a-f]{24}$/), conversation_id: 4, user_id: null, message: 'hello', type: 'TEXT',
      created_at: expect.any(String), status: 'pending', error: null,
    });
    expect(c.pending()).toEqual([outgoing]);
    const stored = await sent;
    expect(stored).toMatchObject({ seq: 1, message: 'hello', client_msg_id: outgoing.client_msg_id });
    await statusReached(c, 'live');
    expect(log).toEqual(['1:hello']);
    expect(c.pending()).toEqual([]);
    await eventually(() => storage.load()).toEqual([]);
    expect(hub.sends).toHaveLength(1);
  });

  it('keeps a message sent while offline in storage; a new client (a reload) sends it once and shows it once', async () => {
    hub.offline = true;
    const storage = memoryStorage();
    const before = client({ storage });
    const { outgoing } = before.send(4, 'written offline');
    await eventually(() => storage.load()).toEqual([outgoing]);
    before.close();

    hub.offline = false;
    const after = client({ storage });
    const log = shown(after);
    await nextEvent(after, 'message');
    await outboxEmpty(after);
    expect(log).toEqual(['1:written offline']);
    expect(hub.stored.map((m) => [m.message, m.client_msg_id])).toEqual([['written offline', outgoing.client_msg_id]]);
    await eventually(() => storage.load()).toEqual([]);
  });

  it('after a lost ack and a timeout, sends the same client_msg_id again: stored once, shown once', async () => {
    hub.plan = (_p, attempt) => (attempt === 1 ? 'lose-all' : 'ack');
    const c = client({ ackTimeoutMs: 300, sendRetryMs: 50 });
    const log = shown(c);
    const { outgoing, sent } = c.send(4, 'once only');
    await sent;
    await statusReached(c, 'live');
    expect(hub.sends.map((s) => s.client_msg_id)).toEqual([outgoing.client_msg_id, outgoing.client_msg_id]);
    expect(hub.stored).toHaveLength(1);
    expect(log).toEqual(['1:once only']);
    expect(c.pending()).toEqual([]);
  });

  it('settles from the broadcast when only the ack was lost, without sending again after a reconnect', async () => {
    hub.plan = () => 'lose-ack';
    const c = client({ ackTimeoutMs: 60_000 });
    const log = shown(c);
    const { sent } = c.send(4, 'echoed');
    expect((await sent).message).toBe('echoed');
    c.reconnect();
    await statusReached(c, 'live');
    expect(hub.sends).toHaveLength(1);
    expect(log).toEqual(['1:echoed']);
  });

  it('retries unavailable and rate_limited with backoff until stored', async () => {
    const codes = ['unavailable', 'rate_limited'] as const;
    hub.plan = (_p, attempt) => (attempt <= codes.length ? { code: codes[attempt - 1]!, message: 'later' } : 'ack');
    const c = client({ sendRetryMs: 20 });
    const { sent } = c.send(4, 'persistent');
    expect((await sent).seq).toBe(1);
    expect(hub.sends).toHaveLength(3);
  });

  it('a final refusal fails the message with the code, once, and keeps it until retried or discarded', async () => {
    hub.plan = (_p, attempt) => (attempt === 1 ? { code: 'forbidden', message: 'Not a member of that conversation' } : 'ack');
    const c = client({ sendRetryMs: 20 });
    const { outgoing, sent } = c.send(4, 'refused');
    await expect(sent).rejects.toMatchObject({ name: 'InboxClientError', code: 'forbidden' });
    expect(c.pending()).toEqual([{ ...outgoing, user_id: 1, status: 'failed', error: { code: 'forbidden', message: 'Not a member of that conversation' } }]);
    expect(hub.sends).toHaveLength(1);

    c.retry(outgoing.client_msg_id);
    await outboxEmpty(c);
    expect(hub.stored.map((m) => m.message)).toEqual(['refused']);

    const failed = c.send(4, 'x'.repeat(4001));
    expect(failed.outgoing).toMatchObject({ status: 'failed', error: { code: 'too_large' } });
    await expect(failed.sent).rejects.toMatchObject({ code: 'too_large' });
    c.discard(failed.outgoing.client_msg_id);
    expect(c.pending()).toEqual([]);
  });

  it('refuses a message over maxMessageLength locally, counting characters as the hub does', async () => {
    const c = client({ maxMessageLength: 3 });
    await statusReached(c, 'live');
    expect(c.send(4, '😀😀😀').outgoing.status).toBe('pending');
    const { outgoing } = c.send(4, 'four');
    expect(outgoing).toMatchObject({ status: 'failed', error: { code: 'too_large', message: 'message is longer than 3 characters' } });
    await outboxEmpty(c);
    expect(hub.sends.map((s) => s.message)).toEqual(['😀😀😀']);
  });

  it('carries on in memory when the storage fails, and reports it', async () => {
    const broken: OutboxStorage = {
      load: async () => [],
      save: async () => {
        throw new Error('quota exceeded');
      },
      remove: async () => undefined,
    };
    const c = client({ storage: broken });
    const errors: string[] = [];
    c.on('error', (e) => errors.push(`${e.code}: ${e.message}`));
    const { sent } = c.send(4, 'still sent');
    await sent;
    // Two saves failed: the entry as sent, then with its owner once the hub said who connected.
    expect(errors).toEqual(['unavailable: outbox storage: quota exceeded', 'unavailable: outbox storage: quota exceeded']);
  });

  it('only re-sends entries of the user who connects (or of no one yet)', async () => {
    const storage = memoryStorage();
    const base = { created_at: new Date().toISOString(), type: 'TEXT' as const, status: 'pending' as const, error: null, conversation_id: 4 };
    const mine: OutgoingMessage = { ...base, client_msg_id: 'mine-1', user_id: 1, message: 'mine' };
    const theirs: OutgoingMessage = { ...base, client_msg_id: 'theirs-1', user_id: 2, message: 'theirs' };
    await storage.save(mine);
    await storage.save(theirs);
    const c = client({ storage });
    await nextEvent(c, 'message');
    await eventually(() => c.pending()).toEqual([theirs]);
    expect(hub.sends.map((s) => s.client_msg_id)).toEqual(['mine-1']);
  });
});
