import type { Sql } from '../db/client.js';
import type { StoredMessageRecord } from '../db/repositories/messages.js';
import * as notifyRepo from '../db/repositories/notify.js';
import type { NotifyBatchRow } from '../db/rows.js';
import { toMessageDto } from './message-dto.js';
import type { NotifyScheduler, UserPresence } from './ports.js';
import type { ServiceLog } from './services.js';

/** What the worker should do with a (user, conversation) notification job now. */
export type NotifyStep =
  | { kind: 'send'; batch: NotifyBatchRow }
  | { kind: 'wait'; until: number }
  | { kind: 'none'; why: 'online' | 'nothing_unread' };

/**
 * Offline notifications (NOTIFY_WEBHOOK_URL). The hub schedules; a worker decides and sends:
 * - a message stored for a recipient with no live socket schedules the pair's job (one Redis
 *   call to tell, none when the recipient has a socket on this pod; no Postgres statement: the
 *   recipient comes back from the insert itself);
 * - a user's last socket going schedules it for each conversation they have unread messages in
 *   (one statement per last disconnect);
 * - the job, when due, re-checks everything (online now? read meanwhile? went offline later?)
 *   and stores the batch before its first POST, so every retry sends the same body.
 */
export class OfflineNotifyService {
  constructor(
    private readonly sql: Sql,
    private readonly presence: UserPresence,
    private readonly scheduler: NotifyScheduler,
    private readonly delayMs: number,
    private readonly log: ServiceLog,
  ) {}

  /** After a message was stored and published; never delays or fails the sender's ack. */
  messageStored(record: StoredMessageRecord): void {
    const recipient = record.recipient_id;
    if (recipient === undefined || recipient === null) return;
    void (async () => {
      if (await this.presence.isOnline(recipient)) return;
      await this.scheduler.schedule(recipient, record.conversation_id, this.delayMs);
    })().catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'offline notification: could not schedule'));
  }

  /** The user's last socket went: every conversation with unread messages is counted from now. */
  async lastSocketGone(userId: number): Promise<void> {
    const ids = await notifyRepo.conversationsWithUnread(this.sql, userId);
    await Promise.all(ids.map((id) => this.scheduler.schedule(userId, id, this.delayMs)));
  }

  /**
   * The job's decision. A batch already opened (an earlier try) is sent again as stored.
   * Otherwise nothing is sent while the user is online or has nothing new unread, and nothing
   * before NOTIFY_DELAY_S has passed since the later of the first such message and their last
   * disconnect; then the batch is opened (stored) with its body.
   */
  async next(userId: number, conversationId: number, now = Date.now()): Promise<NotifyStep> {
    const open = await notifyRepo.findOpenBatch(this.sql, userId, conversationId);
    if (open) return { kind: 'send', batch: open };
    if (await this.presence.isOnline(userId)) return { kind: 'none', why: 'online' };
    const unread = await notifyRepo.findUnnotified(this.sql, userId, conversationId);
    if (!unread) return { kind: 'none', why: 'nothing_unread' };
    const gone = (await this.presence.lastGoneAt(userId)) ?? 0;
    const due = Math.max(unread.first_at.getTime(), gone) + this.delayMs;
    if (due > now) return { kind: 'wait', until: due };
    const last = await notifyRepo.findMessageRecord(this.sql, conversationId, unread.last_seq);
    if (!last) return { kind: 'none', why: 'nothing_unread' };
    const body = JSON.stringify({
      user_id: userId,
      conversation_id: conversationId,
      unread_count: unread.unread_count,
      first_unread_seq: unread.first_seq,
      last_message: toMessageDto(last),
    });
    const batch = await notifyRepo.openBatch(this.sql, { userId, conversationId, firstSeq: unread.first_seq, lastSeq: unread.last_seq, body });
    return { kind: 'send', batch };
  }

  /** The receiver accepted it: never sent again. */
  sent(batch: NotifyBatchRow): Promise<void> {
    return notifyRepo.markBatchSent(this.sql, batch.id);
  }

  /**
   * After the pair's job is gone from the queue: messages that came while it ran (their own
   * scheduling found the job still there) start the next batch, counted from their own time.
   */
  async followUp(userId: number, conversationId: number, now = Date.now()): Promise<void> {
    if (await this.presence.isOnline(userId)) return;
    const unread = await notifyRepo.findUnnotified(this.sql, userId, conversationId);
    if (!unread) return;
    const gone = (await this.presence.lastGoneAt(userId)) ?? 0;
    await this.scheduler.schedule(userId, conversationId, Math.max(unread.first_at.getTime(), gone) + this.delayMs - now);
  }
}
