import { setTimeout as sleep } from 'node:timers/promises';
import type { Sql } from '../db/client.js';
import * as markersRepo from '../db/repositories/markers.js';
import type { MarkerOutcome, MarkerUpdate } from '../db/repositories/markers.js';
import { neverSent } from './message-writer.js';
import type { MarkerPublisher } from './ports.js';

export type { MarkerUpdate };

/** How one update went: applied (or already covered), refused as a non-member, or above the conversation's last seq. */
export type MarkerResult = { status: 'ok' } | { status: 'not_member' } | { status: 'beyond_last'; lastSeq: number };

export interface MarkerWriterOptions {
  /** Updates in one statement at most; more wait for the next batch. */
  maxBatch?: number;
  /**
   * How long the first update of a batch waits for others when nothing is in flight. Receipts
   * are not latency-critical (a tick that shows a few ms later is still instant to a person),
   * while every statement costs the hub and Postgres a round trip and a commit.
   */
  lingerMs?: number;
  /**
   * How long a batch in flight that failed on a lock cycle with another pod's batch (class 40)
   * or provably never reached Postgres is tried again, with backoff, before its updates fail.
   */
  retryForMs?: number;
}

interface Pending {
  update: MarkerUpdate;
  resolve(result: MarkerResult): void;
  reject(err: unknown): void;
}

const FIRST_BACKOFF_MS = 20;
const MAX_BACKOFF_MS = 200;
const retryable = (err: unknown) => neverSent(err) || /^40/.test(String((err as { code?: unknown } | null)?.code ?? ''));
const keyOf = (userId: number, conversationId: number) => `${userId}:${conversationId}`;

/**
 * Group commit for `read` and `delivered`: updates arriving while a batch is in flight wait and
 * go together in one statement (`advanceMarkers`), so many sockets' receipts share one round
 * trip and one commit. With nothing in flight an update goes at the end of the event-loop turn,
 * with whatever else that turn read: an idle hub adds no delay. One batch is in flight at a time;
 * a marker is a few bytes, and one statement carries thousands.
 *
 * After the commit, every marker that moved is published (delivered first, then read: a UI
 * goes ✓✓ before "Seen"), then the updates settle: stored before sent, sent before acked.
 */
export class MarkerWriter {
  private waiting: Pending[] = [];
  private inFlight = false;
  private scheduled = false;
  private readonly maxBatch: number;
  private readonly lingerMs: number;
  private readonly retryForMs: number;

  constructor(
    private readonly sql: Sql,
    private readonly publisher: MarkerPublisher,
    options: MarkerWriterOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? 2000;
    this.lingerMs = options.lingerMs ?? 0;
    this.retryForMs = options.retryForMs ?? 2000;
  }

  write(update: MarkerUpdate): Promise<MarkerResult> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ update, resolve, reject });
      this.pump();
    });
  }

  /**
   * Batches form in the check phase, after every socket read of this loop turn queued its
   * updates, or `lingerMs` later; while one is in flight the next gathers behind it.
   */
  private pump(): void {
    if (this.scheduled || this.inFlight || this.waiting.length === 0) return;
    this.scheduled = true;
    const go = () => {
      this.scheduled = false;
      if (this.inFlight || this.waiting.length === 0) return;
      const batch = this.waiting.splice(0, this.maxBatch);
      this.inFlight = true;
      void this.flush(batch).finally(() => {
        this.inFlight = false;
        this.pump();
      });
    };
    if (this.lingerMs > 0) setTimeout(go, this.lingerMs);
    else setImmediate(go);
  }

  private async flush(batch: Pending[]): Promise<void> {
    let outcomes: MarkerOutcome[];
    try {
      outcomes = await this.storeRetrying(batch.map((p) => p.update));
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    const byKey = new Map(outcomes.map((o) => [keyOf(o.userId, o.conversationId), o]));
    try {
      this.publish(outcomes);
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    for (const p of batch) p.resolve(resultOf(p.update, byKey.get(keyOf(p.update.userId, p.update.conversationId))));
  }

  private publish(outcomes: MarkerOutcome[]): void {
    for (const o of outcomes) if (o.delivered !== null) this.publisher.delivered(o.conversationId, o.userId, o.delivered);
    for (const o of outcomes) if (o.read !== null) this.publisher.read(o.conversationId, o.userId, o.read);
  }

  /** A failed statement stored nothing, so the batch is tried again while the error allows and time is left. */
  private async storeRetrying(updates: MarkerUpdate[]): Promise<MarkerOutcome[]> {
    const deadline = performance.now() + this.retryForMs;
    for (let backoff = FIRST_BACKOFF_MS; ; backoff = Math.min(MAX_BACKOFF_MS, backoff * 2)) {
      try {
        return await markersRepo.advanceMarkers(this.sql, updates);
      } catch (err) {
        if (!retryable(err) || performance.now() + backoff > deadline) throw err;
        await sleep(backoff);
      }
    }
  }
}

function resultOf(update: MarkerUpdate, outcome: MarkerOutcome | undefined): MarkerResult {
  if (!outcome || outcome.lastSeq === null) return { status: 'not_member' };
  if (update.seq > outcome.lastSeq) return { status: 'beyond_last', lastSeq: outcome.lastSeq };
  return { status: 'ok' };
}
