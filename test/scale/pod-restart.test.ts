import { afterAll, describe, expect, it } from 'vitest';
import type { MessageDto } from '../../src/realtime/protocol.js';
import { newConversation, newUser } from '../helpers/http.js';
import { spawnHub, type ChildService } from '../helpers/processes.js';
import { connectInbox, request, type ClientSocket } from '../helpers/sockets.js';

const pods: ChildService[] = [];
const sockets: ClientSocket[] = [];
afterAll(async () => {
  for (const s of sockets) s.close();
  await Promise.all(pods.map((p) => p.stop('SIGKILL')));
});

async function inboxOn(pod: ChildService, cookie: string) {
  const { socket } = await connectInbox(pod.url, cookie);
  sockets.push(socket);
  return socket;
}

/**
 * A sender that keeps sending with client_msg_ids, and on losing its pod moves to the
 * other one (as a load balancer would send it) and resends whatever was not acked.
 */
async function sendAll(first: ClientSocket, fallback: () => Promise<ClientSocket>, conversationId: number, ids: string[]) {
  let socket = first;
  const acked = new Map<string, MessageDto>();
  for (const id of ids) {
    for (let attempt = 0; !acked.has(id); attempt++) {
      if (attempt > 0 || socket.disconnected) socket = socket.connected ? socket : await fallback();
      try {
        const ack = await request(socket, 'message', { conversation_id: conversationId, message: id, type: 'TEXT', client_msg_id: id }, 2000);
        if (ack.ok) acked.set(id, ack.message);
      } catch {
        // no ack (the pod went away mid-request): retry with the same client_msg_id
      }
      if (attempt > 20) throw new Error(`gave up on ${id}`);
    }
  }
  return acked;
}

describe('a hub pod stopped mid-traffic', () => {
  it.each([
    ['SIGTERM', 0],
    ['SIGKILL', 'SIGKILL'],
  ] as const)('%s: the pod ends, clients move to the other pod and lose nothing after sync', async (signal, exitStatus) => {
    const [doomed, survivor] = await Promise.all([spawnHub({ MESSAGE_RATE_LIMIT: '1000' }), spawnHub({ MESSAGE_RATE_LIMIT: '1000' })]);
    pods.push(doomed, survivor);
    const [ann, bob] = await Promise.all([newUser(survivor.url), newUser(survivor.url)]);
    const conv = await newConversation(survivor.url, ann, bob);

    const bobOnDoomed = await inboxOn(doomed, bob.cookie);
    const received: MessageDto[] = [];
    bobOnDoomed.on('message', (m) => received.push(m));
    const annOnDoomed = await inboxOn(doomed, ann.cookie);

    const ids = Array.from({ length: 150 }, (_, i) => `m-${i}`);
    const sending = sendAll(annOnDoomed, () => inboxOn(survivor, ann.cookie), conv.id, ids);
    await expect.poll(() => received.length, { timeout: 10_000 }).toBeGreaterThan(20);
    const bobDropped = new Promise((r) => bobOnDoomed.once('disconnect', r));
    const exit = doomed.stop(signal);
    expect(await bobDropped).toBe('transport close');
    expect(await exit).toBe(exitStatus);

    // Bob reconnects to the surviving pod and catches up from the last seq he saw.
    const acked = await sending;
    const bobOnSurvivor = await inboxOn(survivor, bob.cookie);
    const lastSeen = Math.max(...received.map((m) => m.seq));
    const synced: MessageDto[] = [];
    for (let cursor = lastSeen, more = true; more; ) {
      const res = await request(bobOnSurvivor, 'sync', { cursors: { [conv.id]: cursor }, limit: 50 });
      synced.push(...res.messages);
      more = res.has_more;
      cursor = Math.max(cursor, ...res.messages.map((m: MessageDto) => m.seq));
    }

    const seen = new Map<number, MessageDto>();
    for (const m of [...received, ...synced]) seen.set(m.seq, m);
    expect(acked.size).toBe(ids.length);
    expect([...seen.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: ids.length }, (_, i) => i + 1));
    expect(new Set([...seen.values()].map((m) => m.client_msg_id))).toEqual(new Set(ids));
    // What Bob saw live came in order, without duplicates.
    expect(received.map((m) => m.seq)).toEqual(Array.from({ length: received.length }, (_, i) => i + 1));
    if (signal === 'SIGTERM') expect(doomed.output()).toContain('shutting down');
  }, 120_000);
});
