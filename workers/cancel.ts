import type { Logger } from 'pino';
import type { Config } from '../src/config.js';
import { cancelChannel } from '../src/queue/cancel.js';
import { createRedisClient, redisTarget, waitForRedis } from '../src/redis.js';

/** Subscribes to cancel requests; `onCancel` gets each job id (a no-op for jobs this process is not running). */
export async function listenForCancels(
  config: Pick<Config, 'REDIS_URL' | 'REDIS_CLUSTER_NODES' | 'REDIS_PREFIX'>,
  onCancel: (jobId: string) => void,
  log: Logger,
): Promise<{ close(): Promise<void> }> {
  const sub = createRedisClient({ ...redisTarget(config), name: 'worker-cancel-sub', maxRetriesPerRequest: null });
  sub.on('error', (err) => log.warn({ err: err.message }, 'cancel subscription redis error'));
  await waitForRedis(sub);
  const channel = cancelChannel(config);
  sub.on('message', (from: string, jobId: string) => {
    if (from === channel) onCancel(jobId);
  });
  await sub.subscribe(channel);
  return { close: async () => void (await sub.quit().catch(() => sub.disconnect())) };
}
