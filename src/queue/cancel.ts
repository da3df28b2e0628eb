import type { Config } from '../config.js';
import type { RedisClient } from '../redis.js';

type Prefixed = Pick<Config, 'REDIS_PREFIX'>;

/** Workers listen here; a message is a job id whose running attempt must be aborted. */
export const cancelChannel = (config: Prefixed) => `${config.REDIS_PREFIX}:jobs:cancel`;

/**
 * The durable half of a cancel request: pub/sub reaches only attempts already running, so an
 * attempt that starts later (a retry, a recovered stalled job, a fetch racing the request) reads this.
 */
export const cancelFlagKey = (config: Prefixed, jobId: string) => `${config.REDIS_PREFIX}:jobs:cancel:${jobId}`;

/** The AbortSignal reason workers pass to BullMQ's `cancelJob`, telling a cancel from a timeout. */
export const CANCEL_REASON = 'cancelled by its owner';

// Longer than any job may live in the queue; the flag is deleted as soon as the cancel lands.
const FLAG_TTL_SECONDS = 7 * 24 * 3600;

/** Flag first, then publish: a worker that misses the message still finds the flag when it starts the job. */
export async function requestAbort(redis: RedisClient, config: Prefixed, jobId: string): Promise<void> {
  await redis.set(cancelFlagKey(config, jobId), '1', 'EX', FLAG_TTL_SECONDS);
  await redis.publish(cancelChannel(config), jobId);
}

export async function isAbortRequested(redis: RedisClient, config: Prefixed, jobId: string): Promise<boolean> {
  return (await redis.exists(cancelFlagKey(config, jobId))) === 1;
}

export async function clearAbortRequest(redis: RedisClient, config: Prefixed, jobId: string): Promise<void> {
  await redis.del(cancelFlagKey(config, jobId));
}
