import type { Sql } from '../db/client.js';
import { forbidden, invalidPayload } from '../errors.js';
import type { Caller } from './caller.js';
import { MarkerWriter, type MarkerResult, type MarkerWriterOptions } from './marker-writer.js';
import type { MarkerPublisher } from './ports.js';

export interface MarkerInput {
  conversation_id: number;
  seq: number;
}

/** How long a marker batch gathers before its statement when nothing is in flight (see MarkerWriterOptions). */
export const MARKER_LINGER_MS = 20;

/**
 * Read and delivered markers. Both only move forward and never past the conversation's last
 * seq: at or below the stored marker is a no-op that succeeds, above `last_seq` is
 * `invalid_payload`. `delivered` is kept per session (device) and per user (the highest over the
 * sessions); a `read` moves the read marker and the delivered ones. What moved is published to
 * the conversation's room after the commit, before the ack. Writes are group-committed.
 */
export class MarkerService {
  private readonly writer: MarkerWriter;

  constructor(sql: Sql, publisher: MarkerPublisher, options: MarkerWriterOptions = {}) {
    this.writer = new MarkerWriter(sql, publisher, { lingerMs: MARKER_LINGER_MS, ...options });
  }

  read(caller: Caller, input: MarkerInput): Promise<void> {
    return this.advance(caller, input, true);
  }

  /** This device (the caller's session) has received every message up to `seq`. */
  delivered(caller: Caller, input: MarkerInput): Promise<void> {
    return this.advance(caller, input, false);
  }

  private async advance(caller: Caller, input: MarkerInput, read: boolean): Promise<void> {
    const result = await this.writer.write({
      userId: caller.id,
      sessionId: caller.sessionId ?? null,
      conversationId: input.conversation_id,
      seq: input.seq,
      read,
    });
    assertApplied(result);
    if (!caller.memberships?.has(input.conversation_id)) caller.memberships?.remember([input.conversation_id]);
  }
}

function assertApplied(result: MarkerResult): void {
  if (result.status === 'not_member') throw forbidden('Not a member of that conversation');
  if (result.status === 'beyond_last') {
    throw invalidPayload(`seq: is above the conversation's last seq (${result.lastSeq})`);
  }
}
