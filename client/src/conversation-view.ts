import type { InboxClient } from './inbox-client.js';
import type { SendHandle, SendOptions } from './options.js';
import type { OutgoingMessage } from './storage.js';
import type { Conversation, Message } from './types.js';

/** How long a peer's `typing` shows without another one. */
const TYPING_SHOWN_MS = 3000;

export interface ConversationSnapshot {
  conversation: Conversation | null;
  /** Stored messages loaded so far, ascending `seq`, each once. */
  messages: Message[];
  /** This conversation's outbox entries (pending or failed), oldest first. */
  outgoing: OutgoingMessage[];
  /** Whether older messages than the first loaded one exist (unknown, so true, before the first page). */
  hasMore: boolean;
  loading: boolean;
  /** Peers typing now. */
  typingUserIds: number[];
  error: string | null;
}

type Listener = () => void;

/**
 * One conversation's messages as a view shows them: the latest page from HTTP when first
 * subscribed, live messages from the client after it, older pages on demand.
 */
export class ConversationView {
  private snapshot: ConversationSnapshot;
  private readonly messages = new Map<number, Message>();
  private readonly typists = new Map<number, ReturnType<typeof setTimeout>>();
  private readonly listeners = new Set<Listener>();
  private started = false;
  private loadingOlder: Promise<void> | null = null;

  constructor(
    private readonly client: InboxClient,
    readonly id: number,
    private readonly conversationOf: () => Conversation | null,
  ) {
    this.snapshot = { conversation: conversationOf(), messages: [], outgoing: this.outgoingOf(client.pending()), hasMore: true, loading: false, typingUserIds: [], error: null };
  }

  readonly subscribe = (listener: Listener): (() => void) => {
    this.listeners.add(listener);
    if (!this.started) {
      this.started = true;
      void this.loadOlder();
    }
    return () => this.listeners.delete(listener);
  };

  readonly getSnapshot = (): ConversationSnapshot => this.snapshot;

  send(text: string, options?: SendOptions): SendHandle {
    return this.client.send(this.id, text, options);
  }

  /** Tells the peer the user is typing (throttling is the caller's choice). */
  notifyTyping(): Promise<void> {
    return this.client.typing(this.id);
  }

  /** Loads the page before the oldest loaded message; one load at a time. */
  loadOlder(limit = 50): Promise<void> {
    if (!this.snapshot.hasMore) return Promise.resolve();
    this.loadingOlder ??= this.fetchPage(limit).finally(() => (this.loadingOlder = null));
    return this.loadingOlder;
  }

  message(m: Message): void {
    this.messages.set(m.seq, m);
    this.clearTypist(Number(m.sender_id));
    this.publish({ messages: this.sorted() });
  }

  typing(userId: number): void {
    clearTimeout(this.typists.get(userId));
    this.typists.set(userId, setTimeout(() => this.clearTypist(userId), TYPING_SHOWN_MS));
    this.publish({ typingUserIds: [...this.typists.keys()] });
  }

  outboxChanged(outbox: OutgoingMessage[]): void {
    this.publish({ outgoing: this.outgoingOf(outbox) });
  }

  /** The conversation object changed (markers, last message). */
  touch(): void {
    this.publish({});
  }

  private async fetchPage(limit: number): Promise<void> {
    const first = this.snapshot.messages[0];
    this.publish({ loading: true, error: null });
    try {
      const page = await this.client.http.history(this.id, { limit, ...(first && { beforeSeq: first.seq }) });
      for (const m of page.messages) this.messages.set(m.seq, m);
      this.publish({ messages: this.sorted(), hasMore: page.has_more, loading: false });
    } catch (err) {
      this.publish({ loading: false, error: (err as Error).message });
    }
  }

  private clearTypist(userId: number): void {
    if (!this.typists.has(userId)) return;
    clearTimeout(this.typists.get(userId));
    this.typists.delete(userId);
    this.publish({ typingUserIds: [...this.typists.keys()] });
  }

  private outgoingOf(outbox: OutgoingMessage[]): OutgoingMessage[] {
    return outbox.filter((m) => m.conversation_id === this.id);
  }

  private sorted(): Message[] {
    return [...this.messages.values()].sort((a, b) => a.seq - b.seq);
  }

  private publish(patch: Partial<ConversationSnapshot>): void {
    this.snapshot = { ...this.snapshot, ...patch, conversation: this.conversationOf() };
    for (const listener of [...this.listeners]) listener();
  }
}
