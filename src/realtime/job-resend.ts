import type { FastifyBaseLogger } from 'fastify';
import { Redis } from 'ioredis';
import type { JobDto } from '../schemas/objects.js';
import type { RedisClient } from '../redis.js';
import type { Broadcaster } from './broadcaster.js';

const CHUNK = 500;

/** The stored snapshots of these jobs (the job service's `snapshots`). */
type Snapshots = (jobIds: readonly string[]) => Promise<JobDto[]>;

/**
 * While the hub's adapter has no Redis, every `job:status` a worker publishes is lost for this
 * pod's watchers (workers publish through Redis; nothing queues them for a pod that is not
 * subscribed). So when the adapter's subscriber is back and subscribed again, the pod re-sends
 * to each job room it holds the snapshot stored in Postgres now, to its own sockets only (each
 * pod does this for its own). Clients keep the highest `seq`, so a snapshot they already have
 * changes nothing, and a change stored after this read arrives through Redis as usual.
 *
 * The hub does it rather than the clients: only the hub knows that its Redis went away and
 * came back, and a plain socket.io-client watcher gets the current state without any code.
 * Returns the function that stops listening.
 */
export function resendJobSnapshotsAfterRedisReturns(sub: RedisClient, broadcaster: Broadcaster, snapshots: Snapshots, log: FastifyBaseLogger): () => void {
  let lost = false;
  const onClose = () => void (lost = true);
  const onReady = () => {
    if (!lost) return;
    lost = false;
    void resend(sub, broadcaster, snapshots).then(
      (n) => log.info({ jobs: n }, 'redis back: re-sent the watched jobs\' snapshots'),
      (err: unknown) => log.warn({ err: (err as Error).message }, 'redis back: could not re-send job snapshots'),
    );
  };
  sub.on('close', onClose);
  sub.on('ready', onReady);
  return () => {
    sub.off('close', onClose);
    sub.off('ready', onReady);
  };
}

async function resend(sub: RedisClient, broadcaster: Broadcaster, snapshots: Snapshots): Promise<number> {
  // ioredis re-subscribes right after 'ready'; a PING answered on the same connection comes
  // after those subscriptions took effect, so nothing published from here on is missed.
  if (sub instanceof Redis) await sub.ping();
  const ids = broadcaster.jobsWatchedHere();
  let sent = 0;
  for (let i = 0; i < ids.length; i += CHUNK) {
    for (const job of await snapshots(ids.slice(i, i + CHUNK))) {
      broadcaster.jobStatusHere(job);
      sent++;
    }
  }
  return sent;
}
