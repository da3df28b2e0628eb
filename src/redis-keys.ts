import type { Config } from './config.js';

/**
 * Every Redis name the system uses derives from REDIS_PREFIX, so several deployments (or
 * test runs) can share one Redis without their keys or pub/sub channels meeting.
 */
/** The Socket.IO Redis adapter's channel prefix; hub pods and workers' emitters must agree on it. */
export const adapterKey = (config: Pick<Config, 'REDIS_PREFIX'>) => `${config.REDIS_PREFIX}:socket.io`;

/** BullMQ's key prefix. The hash tag keeps all of a queue's keys on one Redis Cluster slot. */
export const bullPrefix = (config: Pick<Config, 'REDIS_PREFIX'>) => `{${config.REDIS_PREFIX}}:bull`;

/** One user's message token bucket, shared by every pod (MESSAGE_RATE_LIMIT). */
export const messageRateKey = (config: Pick<Config, 'REDIS_PREFIX'>, userId: number) => `${config.REDIS_PREFIX}:rate:message:${userId}`;

/**
 * One user's live sockets on every pod, a sorted set of `<pod>/<socket>` scored by lease expiry
 * (MAX_SOCKETS_PER_USER, presence). The hash tag puts it on the same Redis Cluster slot as the
 * user's presence hash, so one script moves both.
 */
export const userSocketsKey = (config: Pick<Config, 'REDIS_PREFIX'>, userId: number) => `${config.REDIS_PREFIX}:{u${userId}}:sockets`;

/** One user's presence: `online` (1 while online, grace included) and `gone` (when their last socket left). */
export const userPresenceKey = (config: Pick<Config, 'REDIS_PREFIX'>, userId: number) => `${config.REDIS_PREFIX}:{u${userId}}:presence`;

/**
 * Users whose presence may change, a sorted set scored by when to look again (a grace or a
 * lease running out): the only cross-user key of presence, read and written one command at a
 * time, never in a script with a user's keys (they are on other Cluster slots).
 */
export const presenceDueKey = (config: Pick<Config, 'REDIS_PREFIX'>) => `${config.REDIS_PREFIX}:presence:due`;
