import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeRedis, createPublisher, createRedis, waitForRedis, type RedisClient } from '../../src/redis.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/private-redis.js';

// The hub's Redis client helpers against a Redis these tests kill.
let redis: PrivateRedis;
let pub: RedisClient;
let sub: RedisClient;
const received: string[] = [];

beforeAll(async () => {
  redis = await startPrivateRedis();
  pub = createPublisher({ url: redis.url, name: 'test-publisher' });
  sub = createRedis({ url: redis.url, name: 'test-subscriber', maxRetriesPerRequest: null });
  for (const c of [pub, sub]) c.on('error', () => {});
  sub.on('message', (_channel: string, message: string) => received.push(message));
  await Promise.all([waitForRedis(pub), waitForRedis(sub)]);
  await sub.subscribe('faults');
});

afterAll(async () => {
  pub?.disconnect();
  sub?.disconnect();
  await redis?.kill();
});

const subscribers = async () => Number((await redis.cli('pubsub', 'numsub', 'faults')).split('\n')[1]);

describe('createPublisher', () => {
  it('drops publishes while Redis is down, without queueing or rejecting, and publishes again once it returns', async () => {
    expect(await pub.publish('faults', 'before')).toBe(1);
    await expect.poll(() => received, { timeout: 5000 }).toEqual(['before']);

    await redis.kill();
    await expect.poll(() => pub.status, { timeout: 5000 }).not.toBe('ready');
    const started = Date.now();
    const during = await Promise.all(['during-1', 'during-2', 'during-3'].map((m) => pub.publish('faults', m)));
    expect(during).toEqual([0, 0, 0]);
    expect(Date.now() - started).toBeLessThan(500);

    await redis.start();
    await expect.poll(subscribers, { timeout: 10_000, interval: 50 }).toBe(1);
    await expect.poll(() => pub.status, { timeout: 10_000, interval: 50 }).toBe('ready');
    expect(await pub.publish('faults', 'after')).toBe(1);
    await expect.poll(() => received, { timeout: 5000 }).toEqual(['before', 'after']);
  });
});

describe('closeRedis', () => {
  it('returns at once for a client that lost Redis with commands queued, where quit() would wait for Redis forever', async () => {
    const client = createRedis({ url: redis.url, name: 'test-closing', maxRetriesPerRequest: null });
    client.on('error', () => {});
    await waitForRedis(client);
    await redis.kill();
    try {
      await expect.poll(() => client.status, { timeout: 5000 }).not.toBe('ready');
      // What the adapter does at io.close(): an UNSUBSCRIBE that now waits in the offline queue.
      void client.unsubscribe('faults').catch(() => {});
      const started = Date.now();
      await closeRedis(client);
      expect(Date.now() - started).toBeLessThan(200);
    } finally {
      await redis.start();
    }
    // Closed for good: a client opened after Redis returned is listed, the closed one is not.
    const probe = createRedis({ url: redis.url, name: 'test-probe' });
    await waitForRedis(probe);
    expect(await redis.cli('client', 'list')).not.toContain('name=test-closing ');
    expect(client.status).not.toBe('ready');
    await closeRedis(probe);
  });

  it('drops a subscriber whose ready check is in flight without an unhandled rejection', async () => {
    const client = createRedis({ url: redis.url, name: 'test-closing-sub', maxRetriesPerRequest: null });
    client.on('error', () => {});
    await waitForRedis(client);
    await client.subscribe('faults');
    await client.psubscribe('faults-*');
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      // Seen in CI when a pod stopped just after Redis came back: closed while the ready
      // check's INFO was in flight, the client still turned ready and re-subscribed.
      const info = client.info.bind(client) as (...args: unknown[]) => Promise<string>;
      let closing: Promise<void> | undefined;
      Object.assign(client, {
        info: (...args: unknown[]) => {
          const reply = info(...args);
          closing ??= closeRedis(client);
          return reply;
        },
      });
      client.disconnect(true);
      await expect.poll(() => closing !== undefined, { timeout: 5000 }).toBe(true);
      await closing;
      await new Promise((r) => setTimeout(r, 300));
      expect(client.status).toBe('end');
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('QUITs a connected client', async () => {
    const client = createRedis({ url: redis.url, name: 'test-closing' });
    client.on('error', () => {});
    await waitForRedis(client);
    await closeRedis(client);
    await expect.poll(() => client.status, { timeout: 5000 }).toBe('end');
  });
});
