import { Redis, type RedisOptions } from 'ioredis';

export interface RedisConnectOptions {
  url: string;
  /** Shown in CLIENT LIST, so an operator sees which process holds which connection. */
  name: string;
  /**
   * BullMQ's blocking connections need `null` (retry forever); request/response
   * clients fail fast instead, so a request never hangs while Redis is down.
   */
  maxRetriesPerRequest?: number | null;
}

/** The one place Redis connections are made, for the hub, the workers and producers alike. */
export function createRedis({ url, name, maxRetriesPerRequest = 2 }: RedisConnectOptions): Redis {
  const options: RedisOptions = {
    connectionName: name,
    maxRetriesPerRequest,
    enableReadyCheck: true,
    // Reconnect with a capped backoff instead of giving up, so pods heal when Redis returns.
    retryStrategy: (times) => Math.min(times * 100, 2000),
  };
  return new Redis(url, options);
}

/** Waits until the client is ready, or fails with a one-line reason after `timeoutMs`. */
export async function waitForRedis(client: Redis, timeoutMs = 5000): Promise<void> {
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
