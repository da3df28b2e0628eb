import { readFile } from 'node:fs/promises';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../src/redis.js';
import { adapterKey } from '../../src/redis-keys.js';
import { allNamespaces } from '../../src/realtime/namespaces.js';
import { startApp, type RunningApp } from '../helpers/app.js';
import { testEnv } from '../helpers/config.js';
import { newConversation, newUser, type TestUser } from '../helpers/http.js';
import { spawnHub } from '../helpers/processes.js';
import { connect } from '../helpers/sockets.js';

/**
 * Refused handshakes to `/chat/<id>` leave nothing behind: no namespace on the pod, no
 * subscription in Redis. Redis's pub/sub counts are server-wide (other test files run beside
 * this one), so the subscriptions are read off this hub's own subscriber connection
 * (CLIENT LIST ID: its `sub` and `psub`) and the channels under this file's prefix.
 */
let hub: RunningApp;
let redis: Redis;
let ann: TestUser;
let eve: TestUser;
let conversationId: number;

beforeAll(async () => {
  hub = await startApp();
  redis = createRedis({ url: testEnv().REDIS_URL, name: 'legacy-resources-test' });
  [ann, eve] = await Promise.all([newUser(hub.url), newUser(hub.url)]);
  conversationId = (await newConversation(hub.url, ann, await newUser(hub.url))).id;
});
afterAll(async () => {
  redis?.disconnect();
  await hub?.close();
});

async function footprint() {
  // The subscriber cannot run CLIENT ID itself; its own address names it in CLIENT LIST.
  const sub = (hub.app.io.of('/inbox').adapter as unknown as { subClient: { stream: { localPort: number } } }).subClient;
  const list = String(await redis.call('CLIENT', 'LIST', 'TYPE', 'pubsub')).split('\n');
  const line = list.find((l) => l.includes(` addr=127.0.0.1:${sub.stream.localPort} `))!;
  const field = (name: string) => Number(new RegExp(`\\b${name}=(\\d+)`).exec(line)![1]);
  const channels = (await redis.pubsub('CHANNELS', `${adapterKey({ REDIS_PREFIX: testEnv().REDIS_PREFIX })}*`)) as string[];
  return { sub: field('sub'), psub: field('psub'), channels: channels.length, namespaces: [...allNamespaces(hub.app.io).keys()].sort() };
}

const refusal = (url: string, cookie: string | undefined, namespace: string, origin?: string) =>
  connect(url, cookie, { namespace, ...(origin ? { origin } : {}) }).then(
    (s) => (s.close(), 'connected'),
    (err: Error) => err.message,
  );

describe('refused /chat/<id> handshakes', () => {
  it('1,000 to distinct names leave the pod\'s namespaces and its Redis subscriptions exactly as they were', async () => {
    const before = await footprint();
    const kinds = [
      (i: number) => refusal(hub.url, undefined, `/chat/${1_000_000 + i}`),
      (i: number) => refusal(hub.url, eve.cookie, `/chat/${2_000_000 + i}`, 'https://evil.example'),
      (i: number) => refusal(hub.url, eve.cookie, `/chat/${3_000_000 + i}`),
      (i: number) => refusal(hub.url, eve.cookie, `/chat/${3_000_000_000 + i}`),
      (i: number) => refusal(hub.url, undefined, `/chat/${'0'.repeat(1 + (i % 5))}${i}`),
    ];
    const expected = ['unauthorized', 'forbidden_origin', 'forbidden', 'forbidden', 'Invalid namespace'];
    const seen = new Map<string, number>();
    for (let start = 0; start < 1000; start += 50) {
      const batch = Array.from({ length: 50 }, (_, j) => start + j);
      const messages = await Promise.all(batch.map((i) => kinds[i % kinds.length]!(i)));
      for (const [j, m] of messages.entries()) {
        expect(m, `handshake ${batch[j]}`).toBe(expected[batch[j]! % kinds.length]);
        seen.set(m, (seen.get(m) ?? 0) + 1);
      }
    }
    expect(Object.fromEntries(seen)).toEqual({ unauthorized: 200, forbidden_origin: 200, forbidden: 400, 'Invalid namespace': 200 });
    // Namespaces of refused handshakes are dropped just after their refusal is sent.
    await expect.poll(footprint).toEqual(before);
  }, 120_000);

  it('and the hub process\'s RSS stays flat (reported, not asserted: RSS moves with the GC)', async () => {
    const pod = await spawnHub();
    const rss = async () => Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pod.child.pid}/status`, 'utf8'))![1]) / 1024;
    try {
      // Rounds to distinct /chat/<id> names, and (as a control) to /inbox, which creates no namespace.
      const round = async (name: (i: number) => string) => {
        for (let start = 0; start < 1000; start += 50) {
          await Promise.all(Array.from({ length: 50 }, (_, j) => refusal(pod.url, undefined, name(start + j))));
        }
        return rss();
      };
      const figures: string[] = [`start ${(await rss()).toFixed(1)}`];
      figures.push(`/chat ${(await round((i) => `/chat/${1_000_000 + i}`)).toFixed(1)}`);
      figures.push(`/inbox ${(await round(() => '/inbox')).toFixed(1)}`);
      console.info(`hub RSS MB after each round of 1,000 refused handshakes: ${figures.join(', ')}`);
      expect(pod.child.exitCode).toBeNull();
    } finally {
      await pod.stop();
    }
  }, 300_000);

  it('an id above 2^31-1 is forbidden; a non-canonical one is no namespace at all', async () => {
    expect(await refusal(hub.url, ann.cookie, '/chat/2147483648')).toBe('forbidden');
    expect(await refusal(hub.url, ann.cookie, '/chat/9999999999')).toBe('forbidden');
    expect(await refusal(hub.url, ann.cookie, '/chat/99999999999')).toBe('Invalid namespace');
    expect(await refusal(hub.url, ann.cookie, `/chat/0${conversationId}`)).toBe('Invalid namespace');
    expect(await refusal(hub.url, ann.cookie, '/chat/-1')).toBe('Invalid namespace');
    expect(await refusal(hub.url, ann.cookie, `/chat/${conversationId}`)).toBe('connected');
  });

  it('a member\'s namespace is dropped once its last socket is gone, and comes back for the next one', async () => {
    const name = `/chat/${conversationId}`;
    const first = await connect(hub.url, ann.cookie, { namespace: name });
    const second = await connect(hub.url, ann.cookie, { namespace: name });
    expect(allNamespaces(hub.app.io).has(name)).toBe(true);
    first.close();
    await expect.poll(() => allNamespaces(hub.app.io).get(name)?.sockets.size).toBe(1);
    second.close();
    await expect.poll(() => allNamespaces(hub.app.io).has(name)).toBe(false);
    const again = await connect(hub.url, ann.cookie, { namespace: name });
    expect(allNamespaces(hub.app.io).get(name)?.sockets.size).toBe(1);
    again.close();
  });

  it('the main namespace / is refused, after the Origin and the cookie', async () => {
    expect(await refusal(hub.url, ann.cookie, '/')).toBe('forbidden');
    expect(await refusal(hub.url, undefined, '/')).toBe('unauthorized');
    expect(await refusal(hub.url, ann.cookie, '/', 'https://evil.example')).toBe('forbidden_origin');
  });
});
