import { randomBytes } from 'node:crypto';
import type { Server } from 'socket.io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis, waitForRedis } from '../../src/redis.js';
import { SocketCap } from '../../src/realtime/socket-cap.js';
import { testEnv } from '../helpers/config.js';
import { pollUntil } from '../helpers/processes.js';

/**
 * The shared socket count outlives no pod: a pod that dies without a word (SIGKILL, a lost
 * host) stops renewing its leases, and its places are free again once they run out.
 */
const redis = createRedis({ url: testEnv().REDIS_URL, name: 'socket-cap-test' });
const config = { REDIS_PREFIX: testEnv().REDIS_PREFIX };
const silent = { warn() {}, info() {} } as never;
// The cap counts this pod alone until Redis is ready, as a hub's does until its plugin waited.
beforeAll(() => waitForRedis(redis));
afterAll(() => redis.disconnect());

/** A pod with no local sockets (the middleware is all that runs here). */
const pod = (podId: string, leaseMs: number) => new SocketCap({ _nsps: new Map() } as unknown as Server, redis, config, { max: 2, podId, leaseMs }, silent);

function handshake(cap: SocketCap, userId: number) {
  const socket = { id: randomBytes(6).toString('hex'), data: { user: { id: userId } }, once() {} };
  return new Promise<string>((resolve) => cap.middleware()(socket as never, (err?: Error) => resolve(err ? err.message : 'ok')));
}

describe('MAX_SOCKETS_PER_USER when a pod dies', () => {
  it('its places are free again once its leases run out, and not before', async () => {
    const userId = 1_000_000 + Math.floor(Math.random() * 1_000_000);
    const dead = pod('dead-pod', 1500);
    expect([await handshake(dead, userId), await handshake(dead, userId)]).toEqual(['ok', 'ok']);
    dead.close();
    const alive = pod('alive-pod', 1500);
    expect(await handshake(alive, userId)).toBe('rate_limited');
    const diedAt = performance.now();
    await pollUntil(async () => (await handshake(alive, userId)) === 'ok', 'the dead pod\'s places to expire', 10_000, 100);
    expect(performance.now() - diedAt).toBeGreaterThan(1000);
    alive.close();
  });
});
