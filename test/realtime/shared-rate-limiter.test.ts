import { describe, expect, it } from 'vitest';
import { RateLimiter, SharedRateLimiter, type TokenStore } from '../../src/domain/rate-limiter.js';

/** A store with a fixed number of tokens per key, counting how often it is asked. */
function countingStore(tokens: number, retryInMs = 1000) {
  const calls: number[] = [];
  let left = tokens;
  const store: TokenStore = {
    async lease(_key, want) {
      calls.push(want);
      const granted = Math.min(left, want);
      left -= granted;
      return { granted, retryInMs: granted > 0 ? 0 : retryInMs };
    },
  };
  return { store, calls };
}

describe('SharedRateLimiter', () => {
  it('asks the store once per lease, not once per message', async () => {
    const { store, calls } = countingStore(100);
    const limiter = new SharedRateLimiter(store, new RateLimiter(1000), 20);
    expect(limiter.leaseSize).toBe(5);
    const results: boolean[] = [];
    for (let i = 0; i < 20; i++) results.push(await limiter.take(1));
    expect(results).toEqual(Array(20).fill(true));
    expect(calls).toEqual([5, 5, 5, 5]);
    limiter.close();
  });

  it('messages arriving together ask for one lease big enough for all of them', async () => {
    const { store, calls } = countingStore(100);
    const limiter = new SharedRateLimiter(store, new RateLimiter(1000), 4);
    expect(await Promise.all(Array.from({ length: 12 }, () => limiter.take(1)))).toEqual(Array(12).fill(true));
    expect(calls).toEqual([12]);
    limiter.close();
  });

  it('once the store says "none until later", refused messages cost no round trip', async () => {
    const { store, calls } = countingStore(3);
    const limiter = new SharedRateLimiter(store, new RateLimiter(1000), 4);
    const results = [];
    for (let i = 0; i < 50; i++) results.push(await limiter.take(1));
    expect(results.filter(Boolean)).toHaveLength(3);
    expect(calls).toEqual([1, 1, 1, 1]);
    limiter.close();
  });

  it('while the store is unreachable, each pod counts alone (its own bucket)', async () => {
    let errors = 0;
    const down: TokenStore = { lease: () => Promise.reject(new Error('ECONNREFUSED')) };
    const limiter = new SharedRateLimiter(down, new RateLimiter(1, 2), 1, () => errors++);
    expect([await limiter.take(1), await limiter.take(1), await limiter.take(1)]).toEqual([true, true, false]);
    expect(errors).toBe(3);
    limiter.close();
  });
});
