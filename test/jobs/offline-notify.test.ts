import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type RunningApp } from '../helpers/app.js';
import { newConversation, newUser, type TestUser } from '../helpers/http.js';
import { pollUntil, spawnTs } from '../helpers/processes.js';
import { testEnv } from '../helpers/config.js';
import { connectInbox, request, type ClientSocket } from '../helpers/sockets.js';
import { spawnWorker } from '../helpers/worker-process.js';
import type { ChildService } from '../helpers/processes.js';
import { filePrefix } from './support.js';

const SECRET = 'offline-notify-test-secret-0123456789';

/** A real HTTP receiver: every POST it got, and what it answers (a status, or hanging). */
interface Received {
  body: string;
  json: { user_id: number; conversation_id: number; unread_count: number; first_unread_seq: number; last_message: { seq: number; message: string } & Record<string, unknown> };
  signature: string | undefined;
  batchId: string | undefined;
  status: number | 'hang';
}
const received: Received[] = [];
let answer: (json: Received['json'], tryOfThisBody: number) => number | 'hang' = () => 200;
const hanging: ServerResponse[] = [];

let receiver: Server;
let hub: RunningApp;
let worker: ChildService;
let env: Record<string, string>;
const open: ClientSocket[] = [];

beforeAll(async () => {
  receiver = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const json = JSON.parse(body) as Received['json'];
      const tries = received.filter((r) => r.body === body).length + 1;
      const status = answer(json, tries);
      received.push({ body, json, signature: req.headers['x-inbox-signature'] as string | undefined, batchId: req.headers['x-inbox-batch-id'] as string | undefined, status });
      if (status === 'hang') return void hanging.push(res);
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/inbox`;
  // A 1 s delay; a 2 s job lock, so a killed worker's job runs again within seconds.
  env = { REDIS_PREFIX: filePrefix('notify'), NOTIFY_WEBHOOK_URL: url, NOTIFY_WEBHOOK_SECRET: SECRET, NOTIFY_DELAY_S: '1', JOB_LOCK_MS: '2000' };
  [hub, worker] = await Promise.all([startApp(env), spawnWorker(env)]);
});
afterAll(async () => {
  for (const s of open.splice(0)) s.close();
  for (const res of hanging) res.destroy();
  await worker?.stop('SIGKILL');
  await hub?.close();
  await new Promise((r) => receiver?.close(r));
});

async function inbox(user: TestUser) {
  const { socket } = await connectInbox(hub.url, user.cookie);
  open.push(socket);
  return socket;
}

/** A sender online, a recipient who never connected, and their conversation. */
async function pair() {
  const [ann, bob] = await Promise.all([newUser(hub.url, { name: 'Ann' }), newUser(hub.url, { name: 'Bob' })]);
  const conversation = (await newConversation(hub.url, ann, bob)).id as number;
  return { ann, bob, conversation, annSocket: await inbox(ann) };
}

async function send(socket: ClientSocket, conversationId: number, text: string) {
  const ack = await request(socket, 'message', { conversation_id: conversationId, message: text, type: 'TEXT' });
  expect(ack.ok).toBe(true);
  return ack.message;
}

const postsFor = (userId: number) => received.filter((r) => r.json.user_id === userId);
const accepted = (userId: number) => postsFor(userId).filter((r) => r.status !== 'hang' && r.status >= 200 && r.status < 300);
const validSignature = (r: Received) => {
  const expected = Buffer.from(`sha256=${createHmac('sha256', SECRET).update(r.body).digest('hex')}`);
  const got = Buffer.from(r.signature ?? '');
  return got.length === expected.length && timingSafeEqual(got, expected);
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('offline notifications', () => {
  it('an offline recipient gets exactly one signed POST per batch, and a message after it starts the next one', async () => {
    const { bob, conversation, annSocket } = await pair();
    await send(annSocket, conversation, 'first');
    const second = await send(annSocket, conversation, 'second');
    await pollUntil(async () => postsFor(bob.user.id).length > 0, 'the POST', 10_000);
    await sleep(1500);
    const posts = postsFor(bob.user.id);
    expect(posts).toHaveLength(1);
    expect(posts[0]!.json).toEqual({ user_id: bob.user.id, conversation_id: conversation, unread_count: 2, first_unread_seq: 1, last_message: second });
    expect(Object.keys(posts[0]!.json)).toEqual(['user_id', 'conversation_id', 'unread_count', 'first_unread_seq', 'last_message']);
    expect(validSignature(posts[0]!)).toBe(true);

    const third = await send(annSocket, conversation, 'third');
    await pollUntil(async () => postsFor(bob.user.id).length > 1, 'the second batch', 10_000);
    await sleep(1500);
    const next = postsFor(bob.user.id);
    expect(next).toHaveLength(2);
    expect(next[1]!.json).toEqual({ user_id: bob.user.id, conversation_id: conversation, unread_count: 1, first_unread_seq: 3, last_message: third });
    expect(validSignature(next[1]!)).toBe(true);
    expect(next[1]!.batchId).not.toBe(next[0]!.batchId);
  }, 30_000);

  it('sends nothing when the recipient reads first', async () => {
    const { bob, conversation, annSocket } = await pair();
    const message = await send(annSocket, conversation, 'read me');
    const bobSocket = await inbox(bob);
    expect(await request(bobSocket, 'read', { conversation_id: conversation, seq: message.seq })).toEqual({ ok: true });
    bobSocket.close();
    await sleep(3500);
    expect(postsFor(bob.user.id)).toEqual([]);
  }, 20_000);

  it('sends nothing while the recipient is online; their last socket going with the message unread counts from then', async () => {
    const { bob, conversation, annSocket } = await pair();
    const bobSocket = await inbox(bob);
    const message = await send(annSocket, conversation, 'while you are here');
    await sleep(3000);
    expect(postsFor(bob.user.id)).toEqual([]);
    const left = Date.now();
    bobSocket.close();
    await pollUntil(async () => postsFor(bob.user.id).length > 0, 'the POST after the disconnect', 10_000);
    expect(Date.now() - left).toBeGreaterThanOrEqual(1000);
    await sleep(1500);
    expect(postsFor(bob.user.id).map((r) => r.json)).toEqual([
      { user_id: bob.user.id, conversation_id: conversation, unread_count: 1, first_unread_seq: 1, last_message: message },
    ]);
  }, 30_000);

  it('retries a failing receiver with backoff, the same body each try, until it accepts once', async () => {
    const { bob, conversation, annSocket } = await pair();
    answer = (json, tries) => (json.user_id === bob.user.id && tries <= 3 ? 503 : 200);
    try {
      await send(annSocket, conversation, 'try until it works');
      await pollUntil(async () => accepted(bob.user.id).length > 0, 'the accepted try', 30_000, 100);
      await sleep(1500);
      const tries = postsFor(bob.user.id);
      expect(tries.map((r) => r.status)).toEqual([503, 503, 503, 200]);
      expect(new Set(tries.map((r) => r.body)).size).toBe(1);
      expect(new Set(tries.map((r) => r.batchId)).size).toBe(1);
      expect(tries.every(validSignature)).toBe(true);
    } finally {
      answer = () => 200;
    }
  }, 45_000);

  it('a worker killed mid-POST: the next worker sends the same stored body, and the receiver accepts exactly one', async () => {
    const { bob, conversation, annSocket } = await pair();
    answer = (json, tries) => (json.user_id === bob.user.id && tries === 1 ? 'hang' : 200);
    try {
      await send(annSocket, conversation, 'survive a crash');
      await pollUntil(async () => postsFor(bob.user.id).length > 0, 'the first POST', 10_000);
      await worker.stop('SIGKILL');
      worker = await spawnWorker(env);
      await pollUntil(async () => accepted(bob.user.id).length > 0, 'the POST of the next worker', 30_000, 100);
      await sleep(1500);
      const tries = postsFor(bob.user.id);
      expect(tries.map((r) => r.status)).toEqual(['hang', 200]);
      expect(tries[1]!.body).toBe(tries[0]!.body);
      expect(accepted(bob.user.id)).toHaveLength(1);
    } finally {
      answer = () => 200;
    }
  }, 45_000);

  it.each([
    [{ NOTIFY_WEBHOOK_URL: 'ftp://hooks.example.com/inbox', NOTIFY_WEBHOOK_SECRET: SECRET }, 'Invalid configuration: NOTIFY_WEBHOOK_URL: must be a http:// or https:// URL'],
    [{ NOTIFY_WEBHOOK_URL: 'https://hooks.example.com/inbox', NOTIFY_WEBHOOK_SECRET: '' }, 'Invalid configuration: NOTIFY_WEBHOOK_SECRET: required when NOTIFY_WEBHOOK_URL is set'],
  ])('bad configuration stops a worker and a hub with one line: %j', async (bad, line) => {
    const children = ['workers/main.ts', 'src/server.ts'].map((entry) => spawnTs(entry, testEnv({ ...bad, REDIS_PREFIX: filePrefix('notify-bad') })));
    for (const child of children) {
      expect(await child.exited).toBe(1);
      expect(child.output().trim()).toBe(line);
    }
  }, 60_000);
});

