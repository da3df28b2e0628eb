import type { Message } from './types.js';

/**
 * Early messages held while a gap is being filled. Past this many the newest are dropped:
 * safe, because `sync` from the cursor fetches them again.
 */
const MAX_HELD = 1000;

/** One conversation's cursor: the last seq handed to the app, with every earlier seq handed too. */
class ConversationStream {
  private readonly held = new Map<number, Message>();

  constructor(public lastSeq: number) {}

  /**
   * The messages that can now be handed on, in seq order: empty for a duplicate, `null`
   * for a message that came early (one before it is missing) and is held.
   */
  accept(message: Message): Message[] | null {
    if (message.seq <= this.lastSeq || this.held.has(message.seq)) return [];
    if (message.seq > this.lastSeq + 1) {
      if (this.held.size < MAX_HELD) this.held.set(message.seq, message);
      return null;
    }
    const ready = [message];
    this.lastSeq = message.seq;
    for (let next = this.held.get(this.lastSeq + 1); next; next = this.held.get(this.lastSeq + 1)) {
      this.held.delete(next.seq);
      ready.push(next);
      this.lastSeq = next.seq;
    }
    return ready;
  }
}

/**
 * Orders every conversation's messages by `seq`: duplicates are dropped, a message that
 * arrives early is held until the ones before it come, and the caller learns of the gap
 * so it can ask the hub to `sync`.
 */
export class MessageSequencer {
  private readonly streams = new Map<number, ConversationStream>();

  /**
   * Starts following a conversation from `lastSeq`; never moves an existing cursor back.
   * Moving it forward forgets held messages, which is safe: `sync` fetches them again.
   */
  track(conversationId: number, lastSeq = 0): void {
    const stream = this.streams.get(conversationId);
    if (!stream || lastSeq > stream.lastSeq) this.streams.set(conversationId, new ConversationStream(lastSeq));
  }

  isTracked(conversationId: number): boolean {
    return this.streams.has(conversationId);
  }

  lastSeq(conversationId: number): number {
    return this.streams.get(conversationId)?.lastSeq ?? 0;
  }

  conversationIds(): number[] {
    return [...this.streams.keys()];
  }

  /** Cursors in the shape `sync` takes, for the given conversations (all tracked by default). */
  cursors(ids: Iterable<number> = this.streams.keys()): Record<string, number> {
    const cursors: Record<string, number> = {};
    for (const id of ids) cursors[id] = this.lastSeq(id);
    return cursors;
  }

  /**
   * Feeds one received message. `gap` is true when it came early, so a sync is due; a gap
   * that is merely still open is not reported again, or every message a sync returns
   * before the missing ones would ask for another sync.
   */
  accept(message: Message): { deliver: Message[]; gap: boolean } {
    this.track(message.conversation_id);
    const deliver = this.streams.get(message.conversation_id)!.accept(message);
    return { deliver: deliver ?? [], gap: deliver === null };
  }
}
