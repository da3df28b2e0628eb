import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageDto, ReadyPayload } from '../../src/realtime/protocol.js';
import { newConversation, newUser } from '../helpers/http.js';
import { pollUntil, spawnHub, type ChildService } from '../helpers/processes.js';
import { connectInbox, request, type ClientSocket } from '../helpers/sockets.js';

/**
 * The snapshot on connect against the live stream, on two real hub processes: messages flow into
 * a conversation while 50 sockets of the other member connect, half on each pod. The `ready`
 * snapshot is read after the socket joined its rooms, so every message above the snapshot's
 * `last_seq` arrives live, and live + `sync` from that `last_seq` give every message once.
 */
const SOCKETS = 50;
const WAVE = 10;
const IN_FLIGHT = 8;

let pods: ChildService[] = [];
const sockets: ClientSocket[] = [];
beforeAll(async () => {
  const env = { MESSAGE_RATE_LIMIT: '100000', MAX_SOCKETS_PER_USER: '200' };
  pods = await Promise.all([spawnHub(env), spawnHub(env)]);
}, 120_000);
afterAll(async () => {
  for (const s of sockets) s.close();
  await Promise.all(pods.map((p) => p.stop()));
});

interface Watcher {
  socket: ClientSocket;
  ready: ReadyPayload;
  /** Every `message` in arrival order, from the moment the socket was created (before `ready` too). */
  live: MessageDto[];
}

/** A socket whose `message` listener is in place before it connects, so nothing sent before `ready` is missed. */
function watcher(url: string, cookie: string): Promise<Watcher> {
  const socket: ClientSocket = io(`${url}/inbox`, { extraHeaders: { cookie }, transports: ['websocket'], reconnection: false, forceNew: true });
  sockets.push(socket);
  const live: MessageDto[] = [];
  socket.on('message', (m) => live.push(m));
  return new Promise((resolve, reject) => {
    socket.once('ready', (ready) => resolve({ socket, ready, live }));
    socket.once('connect_error', reject);
  });
}

/** Sends into the conversation, IN_FLIGHT at a time, until stopped; resolves with the stored seqs. */
function stream(sender: ClientSocket, conversationId: number) {
  let stopped = false;
  const seqs: number[] = [];
  const lane = async () => {
    while (!stopped) {
      const ack = await request(sender, 'message', { conversation_id: conversationId, message: `m${seqs.length}`, type: 'TEXT' }, 15_000);
      if (!ack.ok) throw new Error(`send failed: ${JSON.stringify(ack)}`);
      seqs.push(ack.message.seq);
    }
  };
  const lanes = Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  return { seqs, stop: async () => ((stopped = true), await lanes, seqs.length) };
}

async function syncFrom(socket: ClientSocket, conversationId: number, after: number): Promise<number[]> {
  const out: number[] = [];
  for (let cursor = after; ; ) {
    const res = await request(socket, 'sync', { cursors: { [conversationId]: cursor }, limit: 500 });
    expect(res.ok).toBe(true);
    out.push(...res.messages.map((m: MessageDto) => m.seq));
    if (!res.has_more) return out;
    cursor = out.at(-1)!;
  }
}

const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

describe('ready against the live stream', () => {
  it(`${SOCKETS} sockets connecting while messages flow each end with every message exactly once`, { timeout: 180_000 }, async () => {
    const [ann, bob] = await Promise.all([newUser(pods[0]!.url), newUser(pods[1]!.url)]);
    const conv = await newConversation(pods[0]!.url, ann, bob);
    const { socket: sender } = await connectInbox(pods[0]!.url, ann.cookie);
    sockets.push(sender);
    const flow = stream(sender, conv.id);
    await pollUntil(async () => flow.seqs.length >= 20, 'the first messages', 15_000, 5);

    const watchers: Watcher[] = [];
    for (let k = 0; k < SOCKETS; k += WAVE) {
      const wave = Array.from({ length: WAVE }, (_, j) => watcher(pods[(k + j) % 2]!.url, bob.cookie));
      watchers.push(...(await Promise.all(wave)));
    }
    const settled = flow.seqs.length;
    await pollUntil(async () => flow.seqs.length >= settled + 20, 'messages after the last ready', 15_000, 5);
    const n = await flow.stop();
    expect([...flow.seqs].sort((a, b) => a - b)).toEqual(range(1, n));

    const snapshotSeq = (w: Watcher) => w.ready.conversations.find((c) => c.id === conv.id)!.last_seq;
    // Every socket connected mid-stream: its snapshot is strictly inside the stream.
    for (const w of watchers) expect(w.ready.conversation_ids).toEqual([conv.id]);
    expect(watchers.filter((w) => snapshotSeq(w) > 0 && snapshotSeq(w) < n)).toHaveLength(SOCKETS);

    for (const [i, w] of watchers.entries()) {
      const s = snapshotSeq(w);
      const liveSeqs = () => new Set(w.live.map((m) => m.seq));
      // Everything above the snapshot arrives live; a missing one fails here, naming the socket.
      await pollUntil(async () => range(s + 1, n).every((seq) => liveSeqs().has(seq)), `socket ${i}: live ${s + 1}..${n}`, 15_000, 20)
        .catch(() => expect({ socket: i, snapshot: s, missingLive: range(s + 1, n).filter((seq) => !liveSeqs().has(seq)) }).toEqual({ socket: i, snapshot: s, missingLive: [] }));
      const seqs = w.live.map((m) => m.seq);
      expect(seqs.length, `socket ${i}: no seq delivered live twice`).toBe(new Set(seqs).size);
      expect(await syncFrom(w.socket, conv.id, s)).toEqual(range(s + 1, n));
      // What the client ends with: the snapshot's history (1..s), then live and sync through a
      // sequencer that keeps a seq once (a live one at or below s is a duplicate and is dropped).
      const kept = new Set(range(1, s));
      for (const seq of [...seqs, ...range(s + 1, n)]) kept.add(seq);
      expect([...kept].sort((a, b) => a - b)).toEqual(range(1, n));
    }
  });
});
