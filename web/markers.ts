import type { Conversation } from '@inbox-hub/client';

interface Marks {
  read: number;
  delivered: number;
}

/**
 * The other member's read and delivered markers per conversation, kept in localStorage.
 * The contract's conversation carries them (`peer_read_seq`, `peer_delivered_seq`); a hub
 * that does not send them yet leaves only the live `read` events, and "Seen" would be gone
 * after a reload. What this device has seen is kept, and the higher of the two is shown.
 */
export class PeerMarkers {
  private readonly key: string;
  private readonly marks: Record<string, Marks>;

  constructor(userId: number) {
    this.key = `inbox-hub.peer-markers.${userId}`;
    this.marks = load(this.key);
  }

  /** The markers to show, after taking in what the conversation now says. */
  of(c: Conversation): Marks {
    const known = this.marks[c.id] ?? { read: 0, delivered: 0 };
    // Never ahead of what the conversation holds: a marker past `last_seq` is from a reset store.
    const last = Math.max(c.last_seq ?? 0, c.last_message?.seq ?? 0);
    const read = Math.min(Math.max(known.read, c.peer_read_seq ?? 0), last);
    const delivered = Math.min(Math.max(known.delivered, c.peer_delivered_seq ?? 0, read), last);
    if (read !== known.read || delivered !== known.delivered) {
      this.marks[c.id] = { read, delivered };
      save(this.key, this.marks);
    }
    return { read, delivered };
  }
}

function load(key: string): Record<string, Marks> {
  try {
    const parsed: unknown = JSON.parse(localStorage.getItem(key) ?? '{}');
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, Marks>) : {};
  } catch {
    return {};
  }
}

function save(key: string, marks: Record<string, Marks>): void {
  try {
    localStorage.setItem(key, JSON.stringify(marks));
  } catch {
    // Storage full or disabled: the markers still show for this page's lifetime.
  }
}
