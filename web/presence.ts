import type { InboxClient, InboxStore } from '@inbox-hub/client';
import { ago } from './dom.js';

export interface PresenceState {
  online: boolean;
  lastSeenAt: string | null;
  lastSeenAgo: string;
}

/**
 * Who is online, from the store (`ready.online_user_ids`, then `presence` events), and when
 * the others were last seen (only `presence` says that). A hub that sends neither leaves
 * everyone "not known to be online": no dot and no "last seen", rather than a wrong "offline".
 */
export class Presence {
  private readonly lastSeen = new Map<number, string>();

  /** Made before the store, so a `presence` event has its last-seen time here when the store redraws. */
  constructor(
    client: InboxClient,
    private readonly store: () => InboxStore,
  ) {
    client.on('presence', (e) => {
      if (e.online) this.lastSeen.delete(e.user_id);
      else if (e.last_seen_at) this.lastSeen.set(e.user_id, e.last_seen_at);
    });
  }

  of(userId: number): PresenceState {
    const online = this.store().getSnapshot().onlineUserIds.includes(userId);
    const lastSeenAt = online ? null : (this.lastSeen.get(userId) ?? null);
    return { online, lastSeenAt, lastSeenAgo: lastSeenAt ? ago(lastSeenAt) : '' };
  }
}
