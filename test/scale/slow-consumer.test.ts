import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newConversation, newUser } from '../helpers/http.js';
import { spawnHub, type ChildService } from '../helpers/processes.js';
import { collect, connectInbox, request, waitFor, type ClientSocket } from '../helpers/sockets.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

/**
 * A slow consumer on two real hub processes: Bob sends on pod A, Ann reads on pod B twice, a
 * healthy socket and one behind a TCP proxy that stops reading while 20,000 messages of 1,000
 * characters (about 25 MB of frames) flow to it through Redis. SLOW_CONSUMER_BYTES is 4 MiB here
 * (1 MiB by default): big enough that its bound stands out of the RSS noise of 20,000 messages
 * passing through the process, small next to what the hub would otherwise buffer.
 */
const LIMIT = 4 * 1024 * 1024;
const N = 20_000;
const WARMUP = 2_000;
let podA: ChildService;
let podB: ChildService;
let proxy: TcpProxy;
const sockets: ClientSocket[] = [];
beforeAll(async () => {
  const env = { MESSAGE_RATE_LIMIT: '1000000', SLOW_CONSUMER_BYTES: String(LIMIT) };
  [podA, podB] = await Promise.all([spawnHub(env), spawnHub(env)]);
  proxy = await startTcpProxy({ host: '127.0.0.1', port: podB.port });
}, 120_000);
afterAll(async () => {
  for (const s of sockets) s.close();
  await proxy?.close();
  await Promise.all([podA?.stop(), podB?.stop()]);
});

/** The hub process's resident set, from Linux's /proc (pages of 4 KiB). */
const rssOf = (pod: ChildService) => Number(readFileSync(`/proc/${pod.child.pid}/statm`, 'utf8').split(' ')[1]) * 4096;

async function sendAll(socket: ClientSocket, conversationId: number, from: number, count: number, body: string): Promise<void> {
  let next = from;
  const end = from + count;
  const lane = async () => {
    while (next < end) {
      const i = next++;
      const ack = await request(socket, 'message', { conversation_id: conversationId, message: `${i} ${body}`, type: 'TEXT', client_msg_id: `slow-${i}` }, 30_000);
      if (!ack.ok) throw new Error(`message ${i}: ${JSON.stringify(ack)}`);
    }
  };
  await Promise.all(Array.from({ length: 32 }, lane));
}

describe('a slow consumer across pods', () => {
  it('costs pod B less than 2 x SLOW_CONSUMER_BYTES, and after it resumes one resync + sync give every message exactly once', async () => {
    const [ann, bob] = await Promise.all([newUser(podB.url), newUser(podA.url)]);
    const conv = await newConversation(podA.url, ann, bob);
    const { socket: sender } = await connectInbox(podA.url, bob.cookie);
    const { socket: healthy } = await connectInbox(podB.url, ann.cookie);
    const { socket: slow } = await connectInbox(`http://127.0.0.1:${proxy.port}`, ann.cookie);
    sockets.push(sender, healthy, slow);
    const live = collect(slow, 'message');
    const resyncs = collect(slow, 'resync');
    let healthyCount = 0;
    healthy.on('message', () => healthyCount++);
    const body = 'm'.repeat(1000);

    // Warm-up with everyone reading: the process's heap settles before its RSS is the baseline.
    await sendAll(sender, conv.id, 1, WARMUP, body);
    await waitFor(slow, 'message', (m) => m.seq === WARMUP, 30_000).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 500));
    const baseline = rssOf(podB);

    proxy.pause();
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, rssOf(podB))), 50);
    await sendAll(sender, conv.id, WARMUP + 1, N, body);
    const total = WARMUP + N;
    await expect.poll(() => healthyCount, { timeout: 60_000, interval: 100 }).toBe(total);
    await new Promise((r) => setTimeout(r, 1000));
    clearInterval(sampler);
    const growth = peak - baseline;
    console.log(`pod B RSS ${(baseline / 2 ** 20).toFixed(1)} MiB before, peak +${(growth / 2 ** 20).toFixed(1)} MiB while ${N} messages were held back`);
    expect(growth).toBeLessThan(2 * LIMIT);

    const resynced = waitFor(slow, 'resync', () => true, 60_000);
    proxy.resume();
    expect(await resynced).toEqual({ conversation_ids: [conv.id] });
    // Catching up as the typed client does: sync from the highest seq it holds without a gap
    // (two pods may deliver messages stored back to back in either order), page by page.
    const liveSeqs = live.map((m) => m.seq).sort((a, b) => a - b);
    expect(new Set(liveSeqs).size).toBe(liveSeqs.length);
    let cursor = 0;
    while (liveSeqs[cursor] === cursor + 1) cursor++;
    const got = liveSeqs.slice(0, cursor);
    expect(cursor).toBeLessThan(total);
    for (;;) {
      const page = await request(slow, 'sync', { cursors: { [conv.id]: cursor }, limit: 500 }, 30_000);
      expect(page.ok).toBe(true);
      for (const m of page.messages) got.push(m.seq);
      if (page.messages.length > 0) cursor = page.messages.at(-1).seq;
      if (!page.has_more) break;
    }
    expect(resyncs).toHaveLength(1);
    // Every message exactly once: the ones that came live before it fell behind, then sync's.
    expect(got).toEqual(Array.from({ length: total }, (_, i) => i + 1));
  }, 240_000);
});
