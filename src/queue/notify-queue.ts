import { Queue } from 'bullmq';
import type { Config } from '../config.js';
import type { RedisClient } from '../redis.js';
import { bullPrefix } from '../redis-keys.js';

/** Offline notifications have their own queue: they have no job row, owner or watcher, and never wait behind jobs. */
export const NOTIFY_QUEUE = 'notify';

export interface NotifyEnvelope {
  user_id: number;
  conversation_id: number;
}

export type NotifyQueue = Queue<NotifyEnvelope, unknown, 'notify'>;

/**
 * Tries of one POST, spaced 1, 2, 4, ... 64 s apart (about two minutes in all): a receiver
 * restarting or briefly failing still gets the batch, with the same body every time.
 */
export const NOTIFY_ATTEMPTS = 8;
export const NOTIFY_BACKOFF = { type: 'exponential', delay: 1000 } as const;

/** One job per (user, conversation): while it exists, scheduling it again changes nothing. */
export const notifyJobId = (userId: number, conversationId: number) => `notify-${userId}-${conversationId}`;

export function createNotifyQueue(config: Pick<Config, 'REDIS_PREFIX'>, connection: RedisClient): NotifyQueue {
  return new Queue<NotifyEnvelope, unknown, 'notify'>(NOTIFY_QUEUE, { connection, prefix: bullPrefix(config) });
}

/**
 * The NotifyScheduler port (src/domain/ports.ts) on BullMQ: a delayed job whose id is derived
 * from the pair, removed from Redis as soon as it ends (completed or out of tries), so the next
 * message after it can schedule the pair again.
 */
export function bullNotifyScheduler(queue: NotifyQueue) {
  return {
    schedule: async (userId: number, conversationId: number, delayMs: number): Promise<void> => {
      await queue.add(
        'notify',
        { user_id: userId, conversation_id: conversationId },
        {
          jobId: notifyJobId(userId, conversationId),
          delay: Math.max(0, Math.round(delayMs)),
          attempts: NOTIFY_ATTEMPTS,
          backoff: NOTIFY_BACKOFF,
          removeOnComplete: true,
          removeOnFail: true,
        },
      );
    },
  };
}
