import type { Config } from '../config.js';
import type { TokenStore } from './rate-limiter.js';
import { isRedisReady, type RedisClient } from '../redis.js';
import { messageRateKey } from '../redis-keys.js';

/**
 * One token bucket per user in a Redis hash, refilled by elapsed time on Redis's own clock
 * (so pods with skewed clocks agree). Grants up to ARGV[3] tokens at once and, when it grants
 * none, says in how many ms the next token is due, so the pod stops asking until then.
 */
const LEASE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate, burst, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1]) or burst
local at = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
local granted = math.min(want, math.floor(tokens))
tokens = tokens - granted
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
local wait = 0
if granted == 0 then wait = math.ceil((1 - tokens) * 1000 / rate) end
return {granted, wait}
`;

type LeaseCommand = (key: string, rate: number, burst: number, want: number) => Promise<[number, number]>;

/** MESSAGE_RATE_LIMIT's shared buckets: `rate` per second per user, bursts of `burst`. */
export function redisTokenStore(redis: RedisClient, config: Pick<Config, 'REDIS_PREFIX'>, rate: number, burst = rate * 2): TokenStore {
  if (!('messageLease' in redis)) redis.defineCommand('messageLease', { numberOfKeys: 1, lua: LEASE_SCRIPT });
  const lease = (redis as unknown as { messageLease: LeaseCommand }).messageLease.bind(redis);
  return {
    async lease(userId, want) {
      // The limiter falls back to this pod's own bucket at once rather than hold messages.
      if (!isRedisReady(redis)) throw new Error(`redis is ${redis.status}`);
      const [granted, retryInMs] = await lease(messageRateKey(config, userId), rate, burst, want);
      return { granted, retryInMs };
    },
  };
}
