import { setTimeout as sleep } from 'node:timers/promises';
import type { PostgresError } from 'postgres';
import type { Sql } from '../db/client.js';
import * as messagesRepo from '../db/repositories/messages.js';
import type { InsertOutcome, NewMessage } from '../db/repositories/messages.js';
import { AppError } from '../errors.js';
import { toMessageDto } from './message-dto.js';
import type { MessagePublisher } from './ports.js';

export interface WriterOptions {
  /** Batches in flight at once: each holds a pool connection, and they overlap Postgres' fsyncs. */
  maxInFlight?: number;
  maxBatch?: number;
  /** How long waiting messages defer to a batch in flight before a second one overlaps it. */
  overlapAfterMs?: number;
  /**
   * How long a batch that provably never reached Postgres (see `neverSent`) is tried again,
   * with backoff, before its messages are refused: a sub-second Postgres restart then costs
   * the senders a delay, not an error. Kept well inside the ack deadline.
   */
  retryForMs?: number;
}

interface Pending {
  message: NewMessage;
  /** performance.now() when it was written. */
  at: number;
  resolve(outcome: InsertOutcome): void;
  reject(err: unknown): void;
}

// The batch statement failed on its data (class 22: bad value; 23: a retried client_msg_id
// already stored, a sender deleted meanwhile) or lost a lock cycle with another pod's batch
// (class 40). It stored nothing; one-by-one inserts answer the duplicates and let one bad
// message fail alone instead of taking its batch with it. Anything else (the connection,
// the server) fails every message of the batch: nothing was stored, nothing is sent.
const retryOneByOne = (err: unknown) => /^(22|23|40)/.test(String((err as PostgresError).code ?? ''));

// Errors that prove the statement never left this process: the connection it waited for was
// refused, timed out while connecting (postgres.js sends a query only once the connection is
// ready), or was turned away at startup by a server shutting down or starting up (57P03).
const NEVER_SENT = new Set(['ECONNREFUSED', 'CONNECT_TIMEOUT', '57P03', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

export function neverSent(err: unknown): boolean {
  if (err instanceof AggregateError) return err.errors.length > 0 && err.errors.every(neverSent);
  return NEVER_SENT.has(String((err as { code?: unknown } | null)?.code ?? ''));
}

// Errors after the statement was sent, from a connection that went away: it may have
// committed before (the server terminated, crashed, or the socket closed mid-reply).
const OUTCOME_UNKNOWN = new Set(['CONNECTION_CLOSED', 'CONNECTION_DESTROYED', 'CONNECTION_ENDED', 'ECONNRESET', 'EPIPE', '57P01', '57P02', '08006', '08003', '08000']);

/** What the sender is told when a batch's outcome is unknown: a retry with the same client_msg_id is safe. */
export const OUTCOME_UNKNOWN_MESSAGE = 'Storage did not confirm the write; retry with the same client_msg_id';

function senderError(err: unknown): unknown {
  if (!OUTCOME_UNKNOWN.has(String((err as { code?: unknown } | null)?.code ?? ''))) return err;
  return Object.assign(new AppError('unavailable', OUTCOME_UNKNOWN_MESSAGE), { cause: err });
}

const FIRST_BACKOFF_MS = 50;
const MAX_BACKOFF_MS = 500;

/**
 * Group commit for chat messages. Messages arriving while earlier batches are in flight
 * wait and then go together in one statement and one commit, so under load a commit (a WAL
 * flush) and a round trip are shared by many messages. With nothing in flight a message
 * goes at the end of the current event-loop turn, with whatever else that turn read: an
 * idle hub adds no delay.
 *
 * Order: a conversation is in at most one batch in flight. Its messages are stored in
 * arrival order with consecutive seqs, each newly stored one is handed to the publisher in seq
 * order right after the commit and before its promise settles, and the conversation's next
 * batch is only formed after that: broadcasts leave this pod in seq order, each before its ack.
 * A retried `client_msg_id` settles with the first stored copy and is not published again.
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
  private readonly retryForMs: number;

  constructor(
    private readonly sql: Sql,
    private readonly publisher: MessagePublisher,
    options: WriterOptions = {},
  ) {
    this.maxInFlight = options.maxInFlight ?? 2;
    this.maxBatch = options.maxBatch ?? 256;
    this.overlapAfterMs = options.overlapAfterMs ?? 2;
    this.retryForMs = options.retryForMs ?? 2000;
  }

  write(message: NewMessage): Promise<InsertOutcome> {
    const key = message.clientMsgId === null ? null : `${message.senderId}:${message.clientMsgId}`;
    const first = key === null ? undefined : this.unsettled.get(key);
    if (first) return first.then((o) => (o.status === 'no_conversation' ? o : { status: 'duplicate', record: o.record }));
    const outcome = new Promise<InsertOutcome>((resolve, reject) => this.enqueue({ message, at: performance.now(), resolve, reject }));
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
      const outcomes = await this.storeRetrying(batch.map((p) => p.message));
      batch.forEach((p, i) => this.settle(p, outcomes[i]!));
    } catch (err) {
      const reason = senderError(err);
      for (const p of batch) p.reject(reason);
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

  /**
   * The batch again, while the error proves nothing was sent and time is left; any other error
   * (the outcome may be unknown) is the senders' to see. The conversation stays busy meanwhile,
   * so its later messages still follow in order.
   */
  private async storeRetrying(messages: NewMessage[]): Promise<Array<InsertOutcome | Error>> {
    const deadline = performance.now() + this.retryForMs;
    for (let backoff = FIRST_BACKOFF_MS; ; backoff = Math.min(MAX_BACKOFF_MS, backoff * 2)) {
      try {
        return await this.store(messages);
      } catch (err) {
        if (!neverSent(err) || performance.now() + backoff > deadline) throw err;
        await sleep(backoff);
      }
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

  /** The publisher first (the broadcast), then the promise (the ack): stored before either, broadcast before ack. */
  private settle(p: Pending, outcome: InsertOutcome | Error): void {
    if (outcome instanceof Error) return p.reject(outcome);
    if (outcome.status === 'stored') {
      try {
        this.publisher.message(toMessageDto(outcome.record));
      } catch (err) {
        return p.reject(err);
      }
    }
    p.resolve(outcome);
  }
}

const asError = (e: unknown) => (e instanceof Error ? e : new Error(String(e)));
