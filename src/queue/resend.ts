import type { FastifyBaseLogger } from 'fastify';
import { Redis } from 'ioredis';
import type { Sql } from 'postgres';
import * as jobsRepo from '../db/repositories/jobs.js';
import { toJobDto } from '../domain/jobs.js';
import type { InboxNamespace } from '../realtime/broadcaster.js';
import { jobRoom } from '../realtime/rooms.js';
import type { RedisClient } from '../redis.js';

const JOB_ROOM_PREFIX = jobRoom('');
const CHUNK = 500;

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
export function resendJobSnapshotsAfterRedisReturns(inbox: InboxNamespace, sql: Sql, log: FastifyBaseLogger): () => void {
  const sub = (inbox.adapter as unknown as { subClient?: RedisClient }).subClient;
  if (!sub) return () => {};
  let lost = false;
  const onClose = () => void (lost = true);
  const onReady = () => {
    if (!lost) return;
    lost = false;
    void resend(inbox, sub, sql).then(
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

async function resend(inbox: InboxNamespace, sub: RedisClient, sql: Sql): Promise<number> {
  // ioredis re-subscribes right after 'ready'; a PING answered on the same connection comes
  // after those subscriptions took effect, so nothing published from here on is missed.
  if (sub instanceof Redis) await sub.ping();
  const ids = [...inbox.adapter.rooms.keys()].filter((r) => r.startsWith(JOB_ROOM_PREFIX)).map((r) => r.slice(JOB_ROOM_PREFIX.length));
  let sent = 0;
  for (let i = 0; i < ids.length; i += CHUNK) {
    for (const row of await jobsRepo.findJobs(sql, ids.slice(i, i + CHUNK))) {
      inbox.local.to(jobRoom(row.id)).emit('job:status', toJobDto(row));
      sent++;
    }
  }
  return sent;
}
