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
  /**
   * Commands issued in one event-loop turn leave in one write (per node on a cluster). Only for
   * connections the hub's own code drives: BullMQ's are left alone (its users report lost job
   * data with it).
   */
  autoPipelining?: boolean;
}

// Reconnect with a capped backoff instead of giving up, so processes heal when Redis returns.
const retryStrategy = (times: number) => Math.min(times * 100, 2000);

/** The one place standalone Redis connections are made, for the hub, the workers and producers alike. */
export function createRedis({ url, name, maxRetriesPerRequest = 2, autoPipelining = false }: RedisConnectOptions): Redis {
  const options: RedisOptions = { connectionName: name, maxRetriesPerRequest, enableReadyCheck: true, retryStrategy, enableAutoPipelining: autoPipelining };
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
    enableAutoPipelining: opts.autoPipelining ?? false,
    // `null` (retry forever, BullMQ's blocking clients) must survive: `?? 2` would replace it.
    redisOptions: { connectionName: opts.name, maxRetriesPerRequest: opts.maxRetriesPerRequest === undefined ? 2 : opts.maxRetriesPerRequest },
  });
}

type Publish = (channel: string | Buffer, message: string | Buffer) => Promise<number>;

/**
 * Whether a command sent now is answered now. A command sent while the connection is down
 * waits in ioredis's offline queue through the reconnect attempts (seconds): a caller on a
 * handshake's or a message's path checks this first and takes its fallback at once instead.
 */
export function isRedisReady(client: RedisClient): boolean {
  return client.status === 'ready';
}

/**
 * The Socket.IO adapter's publishing connection: best effort while Redis is down.
 *
 * The adapter PUBLISHes without awaiting, so a rejected publish would surface as an
 * unhandled rejection; and a retry-forever client (`maxRetriesPerRequest: null`) keeps
 * every broadcast of an outage in memory, then replays them all when Redis returns, stale
 * and out of seq order. This one does neither: while Redis is down a publish is dropped at
 * once and resolves 0 (no receiver). The pod's own sockets are still served by the
 * adapter's local delivery, and clients on other pods recover the rest with `sync`.
 * Wait for it (`waitForRedis`) before serving, since it does not queue while connecting.
 */
export function createPublisher(opts: Omit<RedisConnectOptions, 'maxRetriesPerRequest' | 'subscriber'>): RedisClient {
  const client = opts.clusterNodes
    ? new Cluster([...opts.clusterNodes], {
        clusterRetryStrategy: retryStrategy,
        enableOfflineQueue: false,
        enableAutoPipelining: true,
        redisOptions: { connectionName: opts.name, maxRetriesPerRequest: 0, autoResendUnfulfilledCommands: false },
      })
    : new Redis(opts.url, {
        connectionName: opts.name,
        retryStrategy,
        enableOfflineQueue: false,
        // The publishes of one group-committed batch leave in one write (bench: p99 at
        // 5,000 msg/s 168 ms instead of 512 ms; see bench/README.md).
        enableAutoPipelining: true,
        maxRetriesPerRequest: 0,
        // A publish in flight when the connection dropped may have been delivered: never twice.
        autoResendUnfulfilledCommands: false,
      });
  const dropOnFailure = (publish: Publish): Publish => (channel, message) => publish(channel, message).catch(() => 0);
  return Object.assign(client, {
    publish: dropOnFailure(client.publish.bind(client) as Publish),
    spublish: dropOnFailure(client.spublish.bind(client) as Publish),
  });
}

/**
 * Closes a connection without ever hanging: QUIT (pending replies still arrive) while it is
 * connected, else drop it at once. A disconnected client queues QUIT behind its offline
 * queue (the adapter's UNSUBSCRIBEs from `io.close()`, say) and would wait for Redis forever,
 * turning a SIGTERM during a Redis outage into the shutdown deadline and exit code 1.
 */
export async function closeRedis(client: RedisClient, timeoutMs = 2000): Promise<void> {
  if (client.status === 'ready') {
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([client.quit().then(() => {}, () => {}), gaveUp]);
    clearTimeout(timer);
  }
  if (client.status === 'end') return;
  // A subscriber dropped while its ready check's INFO is in flight (just after Redis came
  // back) still turns ready and re-sends its SUBSCRIBEs, which ioredis never awaits: they
  // reject "Connection is closed." unhandled, and Node ends the process on those.
  if (client instanceof Redis) client.options.autoResubscribe = false;
  client.disconnect();
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
