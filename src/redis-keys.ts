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

/** The sockets watching one job (on any pod), a sorted set of socket ids scored by lease expiry: whether a job end needs a notice. */
export const jobWatchersKey = (config: Pick<Config, 'REDIS_PREFIX'>, jobId: string) => `${config.REDIS_PREFIX}:job-watchers:${jobId}`;
/**
 * One owner's job slots (MAX_ACTIVE_JOBS_PER_USER): the running jobs' leases, the held jobs
 * waiting for a slot, and how often each was held. One hash tag, so a script may touch all three
 * on Redis Cluster.
 */
export const ownerSlotKeys = (config: Pick<Config, 'REDIS_PREFIX'>, ownerId: number) => {
  const base = `${config.REDIS_PREFIX}:jobslots:{${ownerId}}`;
  return { running: `${base}:running`, held: `${base}:held`, holds: `${base}:holds` };
};

/** When one user's last socket went (ms since the epoch), written by the pod that saw it go. */
export const userLastGoneKey = (config: Pick<Config, 'REDIS_PREFIX'>, userId: number) => `${config.REDIS_PREFIX}:lastgone:${userId}`;
