import type { Config } from '../config.js';
import { isRedisReady, type RedisClient } from '../redis.js';
import { jobWatchersKey } from '../redis-keys.js';

/** How long a watch outlives its pod's last renewal: a pod that dies stops counting as watching after this. */
export const WATCH_LEASE_MS = 60_000;
const CHECK_TIMEOUT_MS = 1000;

/**
 * Who watches a job right now, on any pod: one sorted set per job in Redis, a member per
 * watching socket id (ids are unique across pods), scored by when its lease runs out. A
 * `job:watch` adds, `job:unwatch` and a disconnect remove, and each pod renews the watches of
 * its own sockets every third of the lease (src/realtime/inbox/job-watch.ts). A worker or a
 * pod storing a job's end asks `isWatched` to decide whether the owner gets a notice. Every
 * operation is on one key, so it works on Redis Cluster too.
 */
export class JobWatchers {
  constructor(
    private readonly redis: RedisClient,
    private readonly config: Pick<Config, 'REDIS_PREFIX'>,
    private readonly leaseMs = WATCH_LEASE_MS,
  ) {}

  async add(jobId: string, socketId: string): Promise<void> {
    await this.renew([[jobId, socketId]]);
  }

  async remove(jobId: string, socketId: string): Promise<void> {
    await this.bounded(() => this.redis.zrem(jobWatchersKey(this.config, jobId), socketId));
  }

  /** Extends the leases of these (job, socket) watches: one pipelined round trip. */
  async renew(watches: ReadonlyArray<readonly [jobId: string, socketId: string]>): Promise<void> {
    if (watches.length === 0) return;
    const expiry = Date.now() + this.leaseMs;
    const byJob = new Map<string, string[]>();
    for (const [jobId, socketId] of watches) byJob.set(jobId, [...(byJob.get(jobId) ?? []), socketId]);
    await this.bounded(() =>
      Promise.all(
        [...byJob].map(async ([jobId, sockets]) => {
          const key = jobWatchersKey(this.config, jobId);
          await this.redis.zadd(key, ...sockets.flatMap((id) => [expiry, id]));
          await this.redis.pexpire(key, this.leaseMs);
        }),
      ),
    );
  }

  /** Redis away: fail at once or within CHECK_TIMEOUT_MS, never hold a watch's ack for Redis' reconnects. */
  private async bounded<T>(start: () => Promise<T>): Promise<T> {
    if (!isRedisReady(this.redis)) throw new Error(`redis is ${this.redis.status}`);
    const work = start();
    work.catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    const giveUp = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('redis did not answer in time')), CHECK_TIMEOUT_MS)));
    try {
      return await Promise.race([work, giveUp]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Whether any socket holds an unexpired watch on the job. Redis unreachable counts as not
   * watched: a notice too many beats a job end nobody hears of.
   */
  async isWatched(jobId: string): Promise<boolean> {
    if (!isRedisReady(this.redis)) return false;
    // A worker's connection queues commands while Redis is away; a job's end does not wait for it.
    let timer: NodeJS.Timeout | undefined;
    const giveUp = new Promise<number>((resolve) => (timer = setTimeout(() => resolve(0), CHECK_TIMEOUT_MS)));
    try {
      return (await Promise.race([this.redis.zcount(jobWatchersKey(this.config, jobId), `(${Date.now()}`, '+inf'), giveUp])) > 0;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }
}
