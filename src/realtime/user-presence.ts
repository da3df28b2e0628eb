import type { Config } from '../config.js';
import type { RedisClient } from '../redis.js';
import { userLastGoneKey, userSocketsKey } from '../redis-keys.js';

/** How long the time of a user's last disconnect is kept: far past any NOTIFY_DELAY_S. */
const LAST_GONE_TTL_MS = 30 * 24 * 3600_000;

export interface SocketLeasePresence {
  /** Whether the user holds a live socket on any pod (an unexpired lease of the socket cap). */
  isOnline(userId: number): Promise<boolean>;
  /** When the user's last socket went, or null when no pod saw it go (never connected, or a pod died). */
  lastGoneAt(userId: number): Promise<number | null>;
  /** Records that the user's last socket went at `at`. */
  markGone(userId: number, at: number): Promise<void>;
}

/**
 * "Has the user a live socket" and "when did their last one go", read from the socket cap's
 * leases (src/realtime/socket-cap.ts: one sorted set per user, scored by lease expiry). One
 * ZCOUNT answers the first; `local` (this pod's own rooms) answers it with no Redis call when
 * the user has a socket here. A stand-in for presence, which keeps its own view of the same leases.
 */
export function socketLeasePresence(redis: RedisClient, config: Pick<Config, 'REDIS_PREFIX'>, local?: (userId: number) => boolean): SocketLeasePresence {
  return {
    isOnline: async (userId) => {
      if (local?.(userId)) return true;
      return (await redis.zcount(userSocketsKey(config, userId), Date.now(), '+inf')) > 0;
    },
    lastGoneAt: async (userId) => {
      const raw = await redis.get(userLastGoneKey(config, userId));
      return raw === null ? null : Number(raw);
    },
    markGone: async (userId, at) => {
      await redis.set(userLastGoneKey(config, userId), String(at), 'PX', LAST_GONE_TTL_MS);
    },
  };
}
