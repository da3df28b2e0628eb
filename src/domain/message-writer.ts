import type { PostgresError, Sql } from 'postgres';
import * as messagesRepo from '../db/repositories/messages.js';
import type { InsertOutcome, NewMessage } from '../db/repositories/messages.js';

/** Called once a message is committed, in storage order per conversation, before its promise settles. */
export type OnStored = (outcome: InsertOutcome) => void;

export interface WriterOptions {
  /** Batches in flight at once: each holds a pool connection, and they overlap Postgres' fsyncs. */
  maxInFlight?: number;
  maxBatch?: number;
  /** How long waiting messages defer to a batch in flight before a second one overlaps it. */
  overlapAfterMs?: number;
}

interface Pending {
  message: NewMessage;
  /** performance.now() when it was written. */
  at: number;
  onStored: OnStored | undefined;
  resolve(outcome: InsertOutcome): void;
  reject(err: unknown): void;
}

// The batch statement failed on its data (class 22: bad value; 23: a retried client_msg_id
// already stored, a sender deleted meanwhile) or lost a lock cycle with another pod's batch
// (class 40). It stored nothing; one-by-one inserts answer the duplicates and let one bad
// message fail alone instead of taking its batch with it. Anything else (the connection,
// the server) fails every message of the batch: nothing was stored, nothing is sent.
const retryOneByOne = (err: unknown) => /^(22|23|40)/.test(String((err as PostgresError).code ?? ''));

/**
 * Group commit for chat messages. Messages arriving while earlier batches are in flight
 * wait and then go together in one statement and one commit, so under load a commit (a WAL
 * flush) and a round trip are shared by many messages. With nothing in flight a message
 * goes at the end of the current event-loop turn, with whatever else that turn read: an
 * idle hub adds no delay.
 *
 * Order: a conversation is in at most one batch in flight. Its messages are stored in
 * arrival order with consecutive seqs, `onStored` runs for them in seq order right after the
 * commit, and its next batch is only formed after that, so broadcasts leave this pod in seq
 * order.
 */
export class MessageWriter {
  /** Messages not yet in a batch, per conversation, in arrival order. */
  private readonly waiting = new Map<number, Pending[]>();
  /** Conversations with waiting messages and none in flight, oldest first (a Set keeps insertion order). */
  private readonly ready = new Set<number>();
  /** Conversations with a batch in flight. */
  private readonly busy = new Set<number>();
  private inFlight = 0;
  private waitingCount = 0;
  private pumpScheduled = false;
  private timer: NodeJS.Timeout | null = null;
  /** First copy of each (sender, client_msg_id) not yet settled: a retry rides on it. */
  private readonly unsettled = new Map<string, Promise<InsertOutcome>>();
  private readonly maxInFlight: number;
  private readonly maxBatch: number;
  private readonly overlapAfterMs: number;

  constructor(
    private readonly sql: Sql,
    options: WriterOptions = {},
  ) {
    this.maxInFlight = options.maxInFlight ?? 2;
    this.maxBatch = options.maxBatch ?? 256;
    this.overlapAfterMs = options.overlapAfterMs ?? 2;
  }

  write(message: NewMessage, onStored?: OnStored): Promise<InsertOutcome> {
    const key = message.clientMsgId === null ? null : `${message.senderId}:${message.clientMsgId}`;
    const first = key === null ? undefined : this.unsettled.get(key);
    if (first) return first.then((o) => (o.status === 'no_conversation' ? o : { status: 'duplicate', record: o.record }));
    const outcome = new Promise<InsertOutcome>((resolve, reject) => this.enqueue({ message, at: performance.now(), onStored, resolve, reject }));
    if (key !== null) {
      this.unsettled.set(key, outcome);
      const forget = () => this.unsettled.delete(key);
      outcome.then(forget, forget);
    }
    this.pump();
    return outcome;
  }

  private enqueue(p: Pending): void {
    const c = p.message.conversationId;
    const list = this.waiting.get(c);
    if (list) list.push(p);
    else this.waiting.set(c, [p]);
    this.waitingCount++;
    if (!this.busy.has(c)) this.ready.add(c);
  }

  /**
   * Batches are formed in the event loop's check phase, after every socket read in this
   * loop turn has queued its messages, so a burst read at once goes as one batch.
   */
  private pump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      while (this.inFlight < this.maxInFlight && this.ready.size > 0) {
        const wait = this.inFlight === 0 ? 0 : this.overlapWait();
        if (wait > 0) return this.pumpIn(wait);
        this.inFlight++;
        void this.flush(this.takeBatch());
      }
    });
  }

  /**
   * While a batch is in flight, the next one waits for it unless its oldest message has
   * waited `overlapAfterMs` or a full batch is waiting: every commit costs Postgres a WAL
   * flush, so at moderate rates one batch after another carries more messages per commit
   * than two at once, and a slow commit still gets overlapped.
   */
  private overlapWait(): number {
    if (this.waitingCount >= this.maxBatch) return 0;
    const oldest = this.waiting.get(this.ready.values().next().value!)![0]!.at;
    return Math.max(0, this.overlapAfterMs - (performance.now() - oldest));
  }

  private pumpIn(ms: number): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.pump();
    }, Math.ceil(ms));
  }

  /**
   * Whole conversations, oldest ready first, up to maxBatch messages; a conversation cut
   * off by the limit keeps the rest of its messages, in order, for its next batch.
   */
  private takeBatch(): Pending[] {
    const batch: Pending[] = [];
    for (const c of this.ready) {
      const list = this.waiting.get(c)!;
      const room = this.maxBatch - batch.length;
      if (list.length <= room) {
        batch.push(...list);
        this.waiting.delete(c);
      } else batch.push(...list.splice(0, room));
      this.ready.delete(c);
      this.busy.add(c);
      if (batch.length >= this.maxBatch) break;
    }
    this.waitingCount -= batch.length;
    return batch;
  }

  private async flush(batch: Pending[]): Promise<void> {
    try {
      const outcomes = await this.store(batch.map((p) => p.message));
      batch.forEach((p, i) => settle(p, outcomes[i]!));
    } catch (err) {
      for (const p of batch) p.reject(err);
    } finally {
      for (const p of batch) {
        const c = p.message.conversationId;
        this.busy.delete(c);
        if (this.waiting.has(c)) this.ready.add(c);
      }
      this.inFlight--;
      this.pump();
    }
  }

  /** One statement for the batch; the single-message statement when alone or when the batch cannot go whole. */
  private async store(messages: NewMessage[]): Promise<Array<InsertOutcome | Error>> {
    if (messages.length === 1) return [await messagesRepo.insertMessage(this.sql, messages[0]!)];
    try {
      return await messagesRepo.insertMessages(this.sql, messages);
    } catch (err) {
      if (!retryOneByOne(err)) throw err;
      const out: Array<InsertOutcome | Error> = [];
      for (const m of messages) out.push(await messagesRepo.insertMessage(this.sql, m).catch((e: unknown) => asError(e)));
      return out;
    }
  }
}

const asError = (e: unknown) => (e instanceof Error ? e : new Error(String(e)));

/** `onStored` first (the broadcast), then the promise (the ack): stored before either, broadcast before ack. */
function settle(p: Pending, outcome: InsertOutcome | Error): void {
  if (outcome instanceof Error) return p.reject(outcome);
  try {
    p.onStored?.(outcome);
  } catch (err) {
    return p.reject(err);
  }
  p.resolve(outcome);
}
