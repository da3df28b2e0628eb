import { Emitter } from '@socket.io/redis-emitter';
import type { Cluster } from 'ioredis';
import type { Config } from '../config.js';
import type { JobStatusPublisher } from '../domain/ports.js';
import type { RedisClient } from '../redis.js';
import { adapterKey } from '../redis-keys.js';
import type { JobDto, NoticeDto, OutputChunkDto } from '../schemas/objects.js';
import type { ServerToClientEvents } from './protocol.js';
import { INBOX_NAMESPACE, jobRoom, userRoom } from './rooms.js';

/**
 * Emits into `/inbox` rooms from a process that is not a hub (workers, producers),
 * through the same Redis protocol as the hubs' adapter, so every pod delivers it.
 * A worker's job status store publishes through it: it implements the same port as the hub's Broadcaster.
 */
export interface RoomEmitter extends JobStatusPublisher {
  emit<E extends keyof ServerToClientEvents>(room: string, event: E, ...args: Parameters<ServerToClientEvents[E]>): void;
}

type Emit = RoomEmitter['emit'];

/** `job:status` and `job:output` into `job_<id>`, `notice:new` into `user_<id>`, as the Broadcaster sends them from a hub. */
const withJobStatus = (emit: Emit): RoomEmitter => ({
  emit,
  jobStatus: (job: JobDto) => emit(jobRoom(job.job_id), 'job:status', job),
  jobOutput: (jobId: string, chunks: OutputChunkDto[]) => emit(jobRoom(jobId), 'job:output', { job_id: jobId, chunks }),
  noticeNew: (userId: number, notice: NoticeDto) => emit(userRoom(userId), 'notice:new', { notice }),
});

/** The sharded adapter's subscription mode; the emitter must publish where the hubs listen. */
export const SHARDED_SUBSCRIPTION_MODE = 'dynamic' as const;

export function createRoomEmitter(redis: RedisClient, config: Pick<Config, 'REDIS_PREFIX' | 'REDIS_CLUSTER_NODES'>): RoomEmitter {
  if (config.REDIS_CLUSTER_NODES) return withJobStatus(shardedEmit(redis as Cluster, adapterKey(config)));
  const inbox = new Emitter(redis, { key: adapterKey(config) }).of(INBOX_NAMESPACE);
  return withJobStatus((room, event, ...args) => {
    (inbox.to(room).emit as (ev: string, ...a: unknown[]) => boolean)(event, ...args);
  });
}

// socket.io-adapter's ClusterAdapter wire format: BROADCAST = 3, socket.io-parser EVENT = 2,
// and "emitter" is the uid the adapter knows is not a hub.
const BROADCAST = 3;
const EVENT_PACKET = 2;
const EMITTER_UID = 'emitter';

/**
 * `@socket.io/redis-emitter` only PUBLISHes; the sharded adapter listens with SSUBSCRIBE on
 * one channel per room ("dynamic" mode), so on a cluster we SPUBLISH the same message there.
 */
function shardedEmit(cluster: Cluster, channelPrefix: string): Emit {
  return (room, event, ...args) => {
    const message = {
      uid: EMITTER_UID,
      nsp: INBOX_NAMESPACE,
      type: BROADCAST,
      data: {
        opts: { rooms: [room], except: [], flags: {} },
        packet: { type: EVENT_PACKET, data: [event, ...args], nsp: INBOX_NAMESPACE },
      },
    };
    void cluster.spublish(`${channelPrefix}#${INBOX_NAMESPACE}#${room}#`, JSON.stringify(message)).catch(() => {});
  };
}
