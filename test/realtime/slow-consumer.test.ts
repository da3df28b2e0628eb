import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobRoom, userRoom } from '../../src/realtime/rooms.js';
import { startApp, type RunningApp } from '../helpers/app.js';
import { clientFor, messageLog, outgoing } from '../client/client-helpers.js';
import { newConversation, newUser } from '../helpers/http.js';
import { pollUntil } from '../helpers/processes.js';
import { collect, connect, connectInbox, request, waitFor, type ClientSocket } from '../helpers/sockets.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

/**
 * The slow-consumer guard on one in-process hub, where the test can emit straight into rooms:
 * a client behind a TCP proxy that stops reading. SLOW_CONSUMER_BYTES is 64 KiB here (1 MiB by
 * default), so that a few MB of events are enough to pass it after the kernel's buffers are full.
 * test/scale/slow-consumer.test.ts runs 20,000 real messages across two hub processes.
 */
const LIMIT = 64 * 1024;
let hub: RunningApp;
let proxy: TcpProxy;
const sockets: ClientSocket[] = [];
beforeAll(async () => {
  hub = await startApp({ SLOW_CONSUMER_BYTES: String(LIMIT), MESSAGE_RATE_LIMIT: '100000' });
  proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(hub.url).port) });
}, 60_000);
afterAll(async () => {
  for (const s of sockets) s.close();
  await proxy?.close();
  await hub?.close();
});

const viaProxy = () => `http://127.0.0.1:${proxy.port}`;

async function guardCount(action: string): Promise<number> {
  const metric = await hub.app.metrics.registry.getSingleMetric('inbox_slow_consumer_total')!.get();
  return metric.values.find((v) => v.labels.action === action)?.value ?? 0;
}

/** Emits filler events until the guard reports one more slow connection; returns how many were emitted. */
async function fillUntilSlow(emit: (i: number) => void): Promise<number> {
  const before = await guardCount('slow');
  let i = 0;
  const deadline = Date.now() + 60_000;
  while ((await guardCount('slow')) === before) {
    if (Date.now() > deadline) throw new Error('the connection never went slow');
    for (let k = 0; k < 50; k++) emit(i++);
    await new Promise((r) => setImmediate(r));
  }
  return i;
}

const filler = 'x'.repeat(2000);
const fakeMessage = (conversationId: number, seq: number) => ({
  id: seq,
  conversation_id: conversationId,
  sender_id: '1',
  message: filler,
  type: 'TEXT',
  created_at: new Date(0).toISOString(),
  seq,
  client_msg_id: null,
});
const fakeJob = (jobId: string, seq: number) => ({ job_id: jobId, name: 'demo.steps', state: 'active', progress: seq, seq, result: null, error: null });

describe('a slow /inbox consumer', () => {
  it('drops typing, keeps the latest job:status, holds messages back and sends one resync when drained', async () => {
    const [ann, bob] = await Promise.all([newUser(hub.url), newUser(hub.url)]);
    const conv = await newConversation(hub.url, ann, bob);
    const { socket: slow } = await connectInbox(viaProxy(), ann.cookie);
    sockets.push(slow);
    const inbox = hub.app.io.of('/inbox');
    inbox.local.in(userRoom(ann.user.id)).socketsJoin(jobRoom('slow-job'));
    const messages = collect(slow, 'message');
    const typing = collect(slow, 'typing');
    const statuses = collect(slow, 'job:status');
    const resyncs = collect(slow, 'resync');

    proxy.pause();
    const emitted = await fillUntilSlow((i) => inbox.to(`chat_${conv.id}`).emit('message', fakeMessage(conv.id, i + 1) as never));
    // Slow now: none of these reaches it as they come.
    for (let i = 1; i <= 100; i++) {
      inbox.to(`chat_${conv.id}`).emit('typing', { conversation_id: conv.id, user_id: bob.user.id });
      inbox.to(jobRoom('slow-job')).emit('job:status', fakeJob('slow-job', i) as never);
      inbox.to(`chat_${conv.id}`).emit('message', fakeMessage(conv.id, emitted + i) as never);
    }
    expect(await guardCount('dropped')).toBeGreaterThanOrEqual(100);
    expect(await guardCount('coalesced')).toBeGreaterThanOrEqual(100);

    const resynced = waitFor(slow, 'resync', () => true, 60_000);
    proxy.resume();
    expect(await resynced).toEqual({ conversation_ids: [conv.id] });
    // A sentinel after the resync: everything the hub was going to send has come.
    const sentinel = waitFor(slow, 'job:status', (j) => j.seq === 1000, 10_000);
    inbox.to(jobRoom('slow-job')).emit('job:status', fakeJob('slow-job', 1000) as never);
    await sentinel;

    expect(typing).toEqual([]);
    expect(statuses.map((j) => j.seq)).toEqual([100, 1000]);
    expect(resyncs).toHaveLength(1);
    // What came live is a prefix without gaps; everything after it was held back, none queued.
    const seqs = messages.map((m) => m.seq);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    expect(seqs.length).toBeLessThan(emitted + 100);
    // Drained: the next message flows again.
    const live = waitFor(slow, 'message', (m) => m.seq === 5000);
    inbox.to(`chat_${conv.id}`).emit('message', fakeMessage(conv.id, 5000) as never);
    await live;
  }, 120_000);
});

describe('the typed client as a slow consumer', () => {
  it('on resync syncs the conversation and hands the app every message exactly once, in order', async () => {
    const [ann, bob] = await Promise.all([newUser(hub.url), newUser(hub.url)]);
    const conv = await newConversation(hub.url, ann, bob);
    const client = clientFor(viaProxy(), ann);
    const ready = new Promise<void>((resolve) => client.on('ready', () => resolve()));
    const log = messageLog(client);
    const syncs = outgoing(client, 'sync');
    const { socket: sender } = await connectInbox(hub.url, bob.cookie);
    sockets.push(sender);
    await ready;
    try {
      proxy.pause();
      const before = await guardCount('resync');
      const total = 3000;
      let next = 1;
      const lane = async () => {
        while (next <= total) {
          const i = next++;
          const ack = await request(sender, 'message', { conversation_id: conv.id, message: `${i} ${filler}`, type: 'TEXT' }, 30_000);
          if (!ack.ok) throw new Error(JSON.stringify(ack));
        }
      };
      await Promise.all(Array.from({ length: 16 }, lane));
      // 3,000 messages of 2 KB are far past the kernel's buffers and the 64 KiB limit.
      expect(await guardCount('held')).toBeGreaterThan(0);
      const syncsBefore = syncs.length;
      proxy.resume();
      await log.until(total, 60_000);
      // At 64 KiB a burst of broadcasts within one event-loop turn is a slow spell of its own
      // while the kernel still takes data, so there may be several resyncs; each one syncs.
      expect(await guardCount('resync')).toBeGreaterThan(before);
      expect(syncs.length).toBeGreaterThan(syncsBefore);
      expect(log.seqs(conv.id)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    } finally {
      client.close();
    }
  }, 120_000);
});

describe('a slow legacy /chat/<id> consumer', () => {
  it('is disconnected instead of held', async () => {
    const [ann, bob] = await Promise.all([newUser(hub.url), newUser(hub.url)]);
    const conv = await newConversation(hub.url, ann, bob);
    const legacy = await connect(viaProxy(), ann.cookie, { namespace: `/chat/${conv.id}` });
    sockets.push(legacy);
    const gone = new Promise<string>((resolve) => legacy.once('disconnect', (reason) => resolve(reason)));
    const nsp = hub.app.io.of(`/chat/${conv.id}`);
    const before = await guardCount('disconnected');
    proxy.pause();
    await fillUntilSlow((i) => nsp.local.emit('message', fakeMessage(conv.id, i + 1) as never));
    await pollUntil(async () => nsp.sockets.size === 0, 'the legacy socket to be dropped on the hub', 10_000);
    expect(await guardCount('disconnected')).toBe(before + 1);
    proxy.resume();
    expect(await gone).toBe('transport close');
  }, 120_000);
});
