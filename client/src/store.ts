import type { InboxClient } from './inbox-client.js';
import type { ConnectionStatus, ReadyInfo } from './options.js';
import type { MarkerEvent, PresenceEvent } from './protocol.js';
import type { OutgoingMessage } from './storage.js';
import type { Conversation, Message, User } from './types.js';
import { ConversationView } from './conversation-view.js';
import { JobView } from './job-view.js';

/** The whole inbox as the app renders it; a new object after every change, else the same one. */
export interface InboxSnapshot {
  status: ConnectionStatus;
  user: User | null;
  /** Most recent activity first. */
  conversations: Conversation[];
  /** Unread messages over every conversation. */
  unreadTotal: number;
  unreadNotices: number;
  /** Peers online now. */
  onlineUserIds: number[];
  /** Messages not yet stored by the hub, oldest first. */
  outbox: OutgoingMessage[];
}

/** Where one message stands, as the sender sees it. */
export type DeliveryStatus = 'pending' | 'sent' | 'delivered' | 'read' | 'failed';

type Listener = () => void;

/**
 * Keeps an app-shaped state from a client's events, with the subscribe / getSnapshot pair
 * that React's `useSyncExternalStore` (or any other view layer) expects.
 */
export class InboxStore {
  private snapshot: InboxSnapshot;
  private readonly byId = new Map<number, Conversation>();
  private readonly online = new Set<number>();
  private readonly listeners = new Set<Listener>();
  private readonly views = new Map<number, ConversationView>();
  private readonly jobViews = new Map<string, JobView>();
  private refreshing: Promise<void> | null = null;

  constructor(readonly client: InboxClient) {
    this.snapshot = { status: client.status, user: client.user, conversations: [], unreadTotal: 0, unreadNotices: 0, onlineUserIds: [], outbox: client.pending() };
    client.on('status', (status) => this.set({ status }));
    client.on('ready', (info) => this.onReady(info));
    client.on('outbox', (outbox) => {
      this.set({ outbox });
      for (const view of this.views.values()) view.outboxChanged(outbox);
    });
    client.on('message', (m) => this.onMessage(m));
    client.on('conversation', (c) => this.upsert([c]));
    client.on('read', (e) => this.onMarker(e, 'read'));
    client.on('delivered', (e) => this.onMarker(e, 'delivered'));
    client.on('typing', (e) => this.views.get(e.conversation_id)?.typing(e.user_id));
    client.on('presence', (e) => this.onPresence(e));
    client.on('notice', () => this.set({ unreadNotices: this.snapshot.unreadNotices + 1 }));
    const info = client.readyInfo;
    if (info) this.onReady(info);
  }

  readonly subscribe = (listener: Listener): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  readonly getSnapshot = (): InboxSnapshot => this.snapshot;

  /** One conversation's messages, outbox and typing; the same view for the same id. */
  conversation(id: number): ConversationView {
    let view = this.views.get(id);
    if (!view) this.views.set(id, (view = new ConversationView(this.client, id, () => this.byId.get(id) ?? null)));
    return view;
  }

  /** One job's state and output, watched while anything subscribes to it. */
  job(jobId: string): JobView {
    let view = this.jobViews.get(jobId);
    if (!view) this.jobViews.set(jobId, (view = new JobView(this.client, jobId)));
    return view;
  }

  /**
   * Conversations the app fetched itself (the list it loaded before connecting, the answer to
   * `POST /api/conversations`), merged as the hub's own are: markers only move forward.
   */
  addConversations(list: Conversation[]): void {
    this.upsert(list);
  }

  /** `sent` → `delivered` → `read` from the other member's markers; outbox entries by their own status. */
  deliveryStatus(message: Message | OutgoingMessage): DeliveryStatus {
    if (!('seq' in message)) return message.status;
    const c = this.byId.get(message.conversation_id);
    if (c && message.seq <= c.peer_read_seq) return 'read';
    if (c && message.seq <= c.peer_delivered_seq) return 'delivered';
    return 'sent';
  }

  private onReady(info: ReadyInfo): void {
    this.online.clear();
    for (const id of info.online_user_ids) this.online.add(id);
    this.set({ user: info.user, unreadNotices: info.unread_notices, onlineUserIds: [...this.online] });
    this.upsert(info.conversations);
    // The snapshot holds at most 100; a hub without it sends none. The rest comes over HTTP.
    if (info.conversations.length < info.conversation_ids.length) void this.refresh();
  }

  private refresh(): Promise<void> {
    this.refreshing ??= this.client.http
      .conversations()
      .then((list) => this.upsert(list))
      .catch(() => undefined)
      .finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  private upsert(list: Conversation[]): void {
    for (const c of list) this.byId.set(c.id, normalize(c, this.byId.get(c.id)));
    this.publishConversations();
  }

  private onMessage(m: Message): void {
    const c = this.byId.get(m.conversation_id);
    if (!c) void this.refresh();
    else if (m.seq > c.last_seq) {
      const fromPeer = m.sender_id !== String(this.snapshot.user?.id);
      const unread = fromPeer && m.seq > c.read_seq ? c.unread_count + 1 : c.unread_count;
      this.byId.set(c.id, { ...c, last_message: m, last_seq: m.seq, unread_count: unread });
      this.publishConversations();
    }
    this.views.get(m.conversation_id)?.message(m);
  }

  private onMarker(e: MarkerEvent, kind: 'read' | 'delivered'): void {
    const c = this.byId.get(e.conversation_id);
    if (!c) return;
    let next: Conversation;
    if (e.user_id === this.snapshot.user?.id) {
      if (kind === 'delivered' || e.seq <= c.read_seq) return;
      next = { ...c, read_seq: e.seq, unread_count: e.seq >= c.last_seq ? 0 : c.unread_count };
    } else if (kind === 'read') {
      next = { ...c, peer_read_seq: Math.max(c.peer_read_seq, e.seq), peer_delivered_seq: Math.max(c.peer_delivered_seq, e.seq) };
    } else {
      next = { ...c, peer_delivered_seq: Math.max(c.peer_delivered_seq, e.seq) };
    }
    this.byId.set(c.id, next);
    this.publishConversations();
    this.views.get(c.id)?.touch();
  }

  private onPresence(e: PresenceEvent): void {
    if (e.online) this.online.add(e.user_id);
    else this.online.delete(e.user_id);
    this.set({ onlineUserIds: [...this.online] });
  }

  private publishConversations(): void {
    const conversations = [...this.byId.values()].sort((a, b) => activity(b).localeCompare(activity(a)));
    this.set({ conversations, unreadTotal: conversations.reduce((n, c) => n + c.unread_count, 0) });
  }

  private set(patch: Partial<InboxSnapshot>): void {
    this.snapshot = { ...this.snapshot, ...patch };
    for (const listener of [...this.listeners]) listener();
  }
}

const activity = (c: Conversation) => c.last_message?.created_at ?? c.created_at;

/** Markers only move forward; a hub that predates them leaves them out, so they start from what is known. */
function normalize(c: Conversation, known: Conversation | undefined): Conversation {
  const last = c.last_seq ?? c.last_message?.seq ?? 0;
  return {
    ...c,
    last_seq: Math.max(last, known?.last_seq ?? 0),
    read_seq: Math.max(c.read_seq ?? 0, known?.read_seq ?? 0),
    peer_read_seq: Math.max(c.peer_read_seq ?? 0, known?.peer_read_seq ?? 0),
    peer_delivered_seq: Math.max(c.peer_delivered_seq ?? 0, known?.peer_delivered_seq ?? 0),
  };
}

const stores = new WeakMap<InboxClient, InboxStore>();

/** The one store of a client, made on first use. */
export function inboxStore(client: InboxClient): InboxStore {
  let store = stores.get(client);
  if (!store) stores.set(client, (store = new InboxStore(client)));
  return store;
}
