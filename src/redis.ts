import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Config } from './config.js';

/** A standalone connection or a Redis Cluster client; BullMQ, the adapter and the emitter take both. */
export type RedisClient = Redis | Cluster;

export interface RedisConnectOptions {
  url: string;
  /** When set, connect to a Redis Cluster through these seed nodes instead of `url`. */
  clusterNodes?: ReadonlyArray<{ host: string; port: number }> | undefined;
  /** Shown in CLIENT LIST, so an operator sees which process holds which connection. */
  name: string;
  /**
   * BullMQ's blocking connections need `null` (retry forever); request/response
   * clients fail fast instead, so a request never hangs while Redis is down.
   */
  maxRetriesPerRequest?: number | null;
  /** A pub/sub subscriber: on a cluster it gets one sharded-subscriber connection per master. */
  subscriber?: boolean;
}

// Reconnect with a capped backoff instead of giving up, so processes heal when Redis returns.
const retryStrategy = (times: number) => Math.min(times * 100, 2000);

/** The one place standalone Redis connections are made, for the hub, the workers and producers alike. */
export function createRedis({ url, name, maxRetriesPerRequest = 2 }: RedisConnectOptions): Redis {
  const options: RedisOptions = { connectionName: name, maxRetriesPerRequest, enableReadyCheck: true, retryStrategy };
  return new Redis(url, options);
}

/** A standalone or cluster client, as the configuration says. */
export function createRedisClient(opts: RedisConnectOptions): RedisClient {
  if (!opts.clusterNodes) return createRedis(opts);
  return new Cluster([...opts.clusterNodes], {
    clusterRetryStrategy: retryStrategy,
    enableReadyCheck: true,
    // Routes SSUBSCRIBE to the node that owns each channel's slot (ioredis >= 5.9), which
    // the sharded adapter needs; without it every shard channel lands on one node.
    shardedSubscribers: opts.subscriber ?? false,
    redisOptions: { connectionName: opts.name, maxRetriesPerRequest: opts.maxRetriesPerRequest ?? 2 },
  });
}

/** Connection options derived from the configuration, for `createRedisClient`. */
export function redisTarget(config: Pick<Config, 'REDIS_URL' | 'REDIS_CLUSTER_NODES'>) {
  return { url: config.REDIS_URL, clusterNodes: config.REDIS_CLUSTER_NODES };
}

/** Waits until the client is ready, or fails with a one-line reason after `timeoutMs`. */
export async function waitForRedis(client: RedisClient, timeoutMs = 5000): Promise<void> {
  if (client.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`cannot reach Redis within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      client.off('ready', onReady);
    };
    client.on('ready', onReady);
  });
}
