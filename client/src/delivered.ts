/**
 * Gathers `delivered` markers per conversation and sends the highest of each after a
 * short delay, so a burst of messages (a catch-up after reconnecting) costs one event per
 * conversation instead of one per message.
 */
export class DeliveredBatcher {
  private readonly due = new Map<number, number>();
  private readonly sent = new Map<number, number>();
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly delayMs: number,
    private readonly send: (conversationId: number, seq: number) => Promise<void>,
  ) {}

  /** This device has handed on every message of the conversation up to `seq`. */
  mark(conversationId: number, seq: number): void {
    if (seq <= Math.max(this.sent.get(conversationId) ?? 0, this.due.get(conversationId) ?? 0)) return;
    this.due.set(conversationId, seq);
    this.timer ??= setTimeout(() => this.flush(), this.delayMs);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const [conversationId, seq] of this.due) {
      this.sent.set(conversationId, seq);
      // A lost marker is not retried: the next one covers it, and read moves it too.
      this.send(conversationId, seq).catch(() => undefined);
    }
    this.due.clear();
  }

  /** Unsent markers are dropped (the next connection marks again); sent ones stay known. */
  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.due.clear();
  }
}
