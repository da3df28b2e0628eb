import type { OutboxStorage, OutgoingMessage, SendErrorCode } from './storage.js';
import type { Message } from './types.js';

/** Codes after which sending the same message again cannot succeed. */
const FINAL_CODES = new Set<SendErrorCode>(['invalid_payload', 'unauthorized', 'forbidden', 'not_found', 'conflict', 'too_large']);

export const isFinal = (code: SendErrorCode) => FINAL_CODES.has(code);

interface Waiter {
  resolve: (message: Message) => void;
  reject: (error: { code: SendErrorCode; message: string }) => void;
}

/**
 * The messages sent but not yet acknowledged, in the order they were sent, mirrored into
 * a storage adapter so a reload finds them again. A message leaves the outbox exactly
 * once: when the hub's copy (same `client_msg_id`) comes back, by ack, event or sync.
 */
export class Outbox {
  private readonly entries = new Map<string, OutgoingMessage>();
  private readonly waiters = new Map<string, Waiter>();
  private writes: Promise<void> = Promise.resolve();
  private snapshot: OutgoingMessage[] = [];
  /** Resolves once the stored entries of an earlier page are back in memory. */
  readonly loaded: Promise<void>;

  constructor(
    private readonly storage: OutboxStorage,
    private readonly onChange: () => void,
    private readonly onStorageError: (err: unknown) => void,
  ) {
    this.loaded = storage.load().then(
      (stored) => {
        for (const m of stored) if (!this.entries.has(m.client_msg_id)) this.entries.set(m.client_msg_id, m);
        this.changed();
      },
      (err: unknown) => onStorageError(err),
    );
  }

  /** Every entry, oldest first; the same array until something changes. */
  list(): OutgoingMessage[] {
    return this.snapshot;
  }

  get(clientMsgId: string): OutgoingMessage | undefined {
    return this.entries.get(clientMsgId);
  }

  /** Pending entries of `userId` (and those sent before anyone was known), oldest first. */
  pendingFor(userId: number): OutgoingMessage[] {
    return this.snapshot.filter((m) => m.status === 'pending' && (m.user_id === null || m.user_id === userId));
  }

  add(message: OutgoingMessage, waiter?: Waiter): void {
    this.entries.set(message.client_msg_id, message);
    if (waiter) this.waiters.set(message.client_msg_id, waiter);
    this.persist(() => this.storage.save(message));
    this.changed();
  }

  /** Replaces an entry (a new status or owner); nothing happens to one already settled. */
  update(clientMsgId: string, patch: Partial<Pick<OutgoingMessage, 'status' | 'error' | 'user_id'>>): void {
    const current = this.entries.get(clientMsgId);
    if (!current) return;
    const next = { ...current, ...patch };
    this.entries.set(clientMsgId, next);
    this.persist(() => this.storage.save(next));
    if (next.status === 'failed' && next.error) this.takeWaiter(clientMsgId)?.reject(next.error);
    this.changed();
  }

  /** The hub has this message: the entry with its `client_msg_id` leaves, once. */
  settle(message: Message): boolean {
    const id = message.client_msg_id;
    if (id === null || !this.entries.has(id)) return false;
    this.entries.delete(id);
    this.persist(() => this.storage.remove(id));
    this.takeWaiter(id)?.resolve(message);
    this.changed();
    return true;
  }

  discard(clientMsgId: string): void {
    if (!this.entries.delete(clientMsgId)) return;
    this.persist(() => this.storage.remove(clientMsgId));
    this.takeWaiter(clientMsgId)?.reject({ code: 'invalid_payload', message: 'discarded' });
    this.changed();
  }

  private takeWaiter(id: string): Waiter | undefined {
    const waiter = this.waiters.get(id);
    this.waiters.delete(id);
    return waiter;
  }

  /** Storage calls run one after another, so a save never overtakes the remove after it. */
  private persist(write: () => Promise<void>): void {
    this.writes = this.writes.then(write).catch((err: unknown) => this.onStorageError(err));
  }

  private changed(): void {
    this.snapshot = [...this.entries.values()];
    this.onChange();
  }
}
