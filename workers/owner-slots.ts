import type { Logger } from 'pino';
import type { Config } from '../src/config.js';
import type { JobsQueue } from '../src/queue/queue.js';
import type { RedisClient } from '../src/redis.js';
import { ownerSlotKeys } from '../src/redis-keys.js';

/**
 * Takes a slot for a job if its owner has fewer than ARGV[4] unexpired ones (or it holds one
 * already: a stalled job run again). Otherwise records it as held (scored by when it was
 * enqueued, so the oldest is promoted first) and counts the hold. Returns how often the job was
 * held before it got its slot, or -1 when it is held now.
 */
const ACQUIRE_SCRIPT = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[3]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[4]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[6])
  redis.call('ZREM', KEYS[2], ARGV[3])
  local holds = tonumber(redis.call('HGET', KEYS[3], ARGV[3]) or '0')
  redis.call('HDEL', KEYS[3], ARGV[3])
  return holds
end
redis.call('ZADD', KEYS[2], 'NX', ARGV[5], ARGV[3])
redis.call('HINCRBY', KEYS[3], ARGV[3], 1)
redis.call('PEXPIRE', KEYS[2], ARGV[7])
redis.call('PEXPIRE', KEYS[3], ARGV[7])
return -1
`;

/** Frees a job's slot; returns the owner's oldest held jobs, to promote one. */
const RELEASE_SCRIPT = `
redis.call('ZREM', KEYS[1], ARGV[1])
return redis.call('ZRANGE', KEYS[2], 0, 2)
`;

type Acquire = (running: string, held: string, holds: string, now: number, expiry: number, jobId: string, max: number, enqueuedAt: number, ttl: number, heldTtl: number) => Promise<number>;
type Release = (running: string, held: string, jobId: string) => Promise<string[]>;

/** A held job looks again this often even if no promotion reaches it (a lost promotion, an expired lease). */
export const HELD_RECHECK_MS = 5_000;
/** Held jobs' bookkeeping outlives any delay a held job can be in. */
const HELD_TTL_MS = 7 * 24 * 3600_000;

export interface OwnerSlots {
  /** A slot for this job: the number of times it was held before, or null when its owner's slots are all taken. */
  acquire(ownerId: number, jobId: string, enqueuedAt: number): Promise<number | null>;
  /** Frees the slot and promotes the owner's oldest held job. */
  release(ownerId: number, jobId: string): Promise<void>;
  close(): void;
}

/**
 * MAX_ACTIVE_JOBS_PER_USER over every worker process, without BullMQ Pro's groups: each owner
 * has a sorted set of the jobs running now, scored by when their lease runs out. A worker renews
 * the leases of its running jobs every third of the lease, so a worker that is killed frees its
 * slots within one lease (JOB_LOCK_MS) without anyone cleaning up. A job whose owner has no
 * free slot goes back to BullMQ's delayed set (the processor moves it and throws DelayedError,
 * BullMQ's manual pattern) where it takes no worker's place: other owners' jobs go first. A
 * slot that frees promotes the owner's oldest held job; a held job also looks again every
 * HELD_RECHECK_MS in case that promotion missed it.
 */
export function ownerSlots(deps: { redis: RedisClient; queue: JobsQueue; config: Pick<Config, 'REDIS_PREFIX' | 'MAX_ACTIVE_JOBS_PER_USER' | 'JOB_LOCK_MS'>; log: Logger }): OwnerSlots {
  const { redis, config, log } = deps;
  if (!('ownerSlotAcquire' in redis)) {
    redis.defineCommand('ownerSlotAcquire', { numberOfKeys: 3, lua: ACQUIRE_SCRIPT });
    redis.defineCommand('ownerSlotRelease', { numberOfKeys: 2, lua: RELEASE_SCRIPT });
  }
  const commands = redis as unknown as { ownerSlotAcquire: Acquire; ownerSlotRelease: Release };
  const leaseMs = config.JOB_LOCK_MS;
  const mine = new Map<string, number>();
  const renew = async () => {
    const expiry = Date.now() + leaseMs;
    const renewals = [...mine].map(([jobId, ownerId]) => redis.zadd(ownerSlotKeys(config, ownerId).running, 'XX', expiry, jobId));
    const failed = (await Promise.allSettled(renewals)).filter((r) => r.status === 'rejected').length;
    if (failed > 0) log.warn({ failed }, 'job slots: could not renew some leases');
  };
  const timer = setInterval(() => void renew(), leaseMs / 3).unref();

  const promoteOldest = async (heldKey: string, candidates: string[]) => {
    for (const id of candidates) {
      const job = await deps.queue.getJob(id);
      if (!job) {
        // Cancelled (removed) while held: it is no one's to promote.
        await redis.zrem(heldKey, id);
        continue;
      }
      try {
        await job.promote();
        return;
      } catch {
        // Not delayed (running, or not yet moved back): the next one, or its own recheck.
      }
    }
  };

  return {
    acquire: async (ownerId, jobId, enqueuedAt) => {
      const keys = ownerSlotKeys(config, ownerId);
      const now = Date.now();
      const holds = await commands.ownerSlotAcquire.call(redis, keys.running, keys.held, keys.holds, now, now + leaseMs, jobId, config.MAX_ACTIVE_JOBS_PER_USER, enqueuedAt, leaseMs, HELD_TTL_MS);
      if (holds < 0) return null;
      mine.set(jobId, ownerId);
      return holds;
    },
    release: async (ownerId, jobId) => {
      mine.delete(jobId);
      const keys = ownerSlotKeys(config, ownerId);
      try {
        await promoteOldest(keys.held, await commands.ownerSlotRelease.call(redis, keys.running, keys.held, jobId));
      } catch (err) {
        // The lease runs out by itself; held jobs look again on their own.
        log.warn({ err: (err as Error).message, job: jobId }, 'job slots: could not free a slot');
      }
    },
    close: () => clearInterval(timer),
  };
}
