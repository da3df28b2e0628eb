import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublisher, createRedis, waitForRedis, type RedisClient } from '../../src/redis.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/private-redis.js';

// The adapter's publisher against a Redis this test kills: while it is down a publish is
// dropped at once (never queued, never rejected), and nothing stale arrives after it returns.
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
    await expect.poll(() => received).toEqual(['before']);

    await redis.kill();
    await expect.poll(() => pub.status).not.toBe('ready');
    const started = Date.now();
    const during = await Promise.all(['during-1', 'during-2', 'during-3'].map((m) => pub.publish('faults', m)));
    expect(during).toEqual([0, 0, 0]);
    expect(Date.now() - started).toBeLessThan(500);

    await redis.start();
    await expect.poll(subscribers, { timeout: 10_000, interval: 50 }).toBe(1);
    await expect.poll(() => pub.status, { timeout: 10_000, interval: 50 }).toBe('ready');
    expect(await pub.publish('faults', 'after')).toBe(1);
    await expect.poll(() => received).toEqual(['before', 'after']);
  });
});
