import type { Conversation, ConversationSnapshot, ConversationView, InboxClient, InboxStore, OutgoingMessage, User } from '@inbox-hub/client';
import { avatar } from './avatar.js';
import { otherMember, roleOf } from './conversations.js';
import { byId, el, reconcile } from './dom.js';
import type { PeerMarkers } from './markers.js';
import type { Presence } from './presence.js';
import { Composer } from './composer.js';
import { timeline } from './timeline.js';

/** Within this of the bottom the view follows new messages; within NEAR_TOP of the top older ones load. */
const NEAR_BOTTOM_PX = 48;
const NEAR_TOP_PX = 200;

interface Drawn {
  messages: ConversationSnapshot['messages'];
  outgoing: OutgoingMessage[];
  read: number;
  delivered: number;
  me: string;
}

/**
 * The open conversation: its own scroll container that follows new messages unless the
 * user scrolled up (then "New messages ↓"), older pages on scroll-up with the view held
 * in place, the outbox's pending and failed messages, typing, and the composer.
 */
export class ChatPane {
  private conversation: Conversation | null = null;
  private view: ConversationView | null = null;
  private unsubscribe: (() => void) | null = null;
  private drawn: Drawn | null = null;
  private newestDrawn = 0;
  private stickNext = false;
  private headSig = '';
  private readonly lastReadSent = new Map<number, number>();
  private readonly pane = byId('chat-pane');
  private readonly empty = byId('chat-empty');
  private readonly head = byId('chat-head');
  private readonly headAvatar = byId('chat-avatar');
  private readonly title = byId('chat-title');
  private readonly subtitle = byId('chat-subtitle');
  private readonly scroller = byId('message-scroller');
  private readonly list = byId('message-list', HTMLOListElement);
  private readonly history = byId('history-status');
  private readonly newMessages = byId('new-messages', HTMLButtonElement);
  private readonly typingLine = byId('typing-indicator');
  private readonly composer: Composer;

  constructor(
    private readonly client: InboxClient,
    private readonly store: InboxStore,
    private readonly me: User,
    private readonly markers: PeerMarkers,
    private readonly presence: Presence,
    onBack: () => void,
  ) {
    this.composer = new Composer(
      (text) => {
        this.stickNext = true;
        this.client.send(this.conversation!.id, text);
      },
      () => {
        if (this.conversation) this.client.typing(this.conversation.id).catch(() => undefined);
      },
    );
    this.scroller.onscroll = () => this.onScroll();
    this.newMessages.onclick = () => this.scrollToBottom();
    byId('chat-back').onclick = onBack;
    document.addEventListener('visibilitychange', () => this.markRead());
  }

  get openId(): number | null {
    return this.conversation?.id ?? null;
  }

  /** True when this conversation's newest messages can be in front of the user right now. */
  isShowing(conversationId: number): boolean {
    return this.conversation?.id === conversationId && document.visibilityState !== 'hidden';
  }

  open(conversation: Conversation): void {
    if (this.conversation?.id === conversation.id) return this.composer.focus();
    this.detach();
    this.conversation = conversation;
    this.pane.dataset.open = 'true';
    this.empty.hidden = true;
    this.head.hidden = false;
    this.scroller.hidden = false;
    this.composer.reset(true);
    this.stickNext = true;
    this.view = this.store.conversation(conversation.id);
    this.unsubscribe = this.view.subscribe(() => this.update());
    this.update();
    this.composer.focus();
  }

  close(): void {
    this.detach();
    this.conversation = null;
    delete this.pane.dataset.open;
    this.empty.hidden = false;
    this.head.hidden = true;
    this.composer.reset(false);
    this.scroller.hidden = true;
    this.typingLine.hidden = true;
    this.newMessages.hidden = true;
  }

  /** The store changed (presence, markers, names): redraw what depends on it. */
  refresh(): void {
    if (!this.conversation) return;
    this.conversation = this.store.getSnapshot().conversations.find((c) => c.id === this.conversation!.id) ?? this.conversation;
    this.renderHead();
    if (this.view) this.update();
  }

  private detach(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.view = null;
    this.drawn = null;
    this.newestDrawn = 0;
    this.headSig = '';
    this.list.replaceChildren();
  }

  private update(): void {
    const view = this.view;
    if (!view) return;
    const snap = view.getSnapshot();
    if (snap.conversation) this.conversation = snap.conversation;
    const c = this.conversation!;
    this.renderHead();
    this.renderTyping(snap.typingUserIds);
    const stored = new Set(snap.messages.map((m) => m.client_msg_id));
    // One browser may have been used by another account: only this user's entries are theirs to see.
    const outgoing = snap.outgoing.filter((o) => (o.user_id === null || o.user_id === this.me.id) && !stored.has(o.client_msg_id));
    const marks = this.markers.of(c);
    const next: Drawn = { messages: snap.messages, outgoing, read: marks.read, delivered: marks.delivered, me: `${this.me.name}${this.me.avatar_url}` };
    // The status line above the list first, so holding the view in place measures the final layout.
    this.renderHistory(snap);
    if (!sameDrawing(this.drawn, next)) this.renderList(next, snap);
    this.markRead();
    // A first page shorter than the pane leaves nothing to scroll up with: fetch the next one now.
    const short = this.scroller.clientHeight > 0 && this.scroller.scrollHeight <= this.scroller.clientHeight + NEAR_TOP_PX;
    if (snap.hasMore && !snap.loading && !snap.error && snap.messages.length > 0 && short) {
      void view.loadOlder();
    }
  }

  private renderList(next: Drawn, snap: ConversationSnapshot): void {
    const c = this.conversation!;
    const atBottom = this.atBottom();
    const anchor = this.list.querySelector<HTMLElement>('.message');
    const anchorTop = anchor?.getBoundingClientRect().top ?? 0;
    const firstBefore = this.drawn?.messages[0]?.seq ?? Infinity;
    reconcile(
      this.list,
      timeline({
        me: this.me,
        peer: otherMember(c, this.me),
        messages: next.messages,
        outgoing: next.outgoing,
        peerRead: next.read,
        peerDelivered: next.delivered,
        onRetry: (id) => {
          this.stickNext = true;
          this.client.retry(id);
        },
        onDiscard: (id) => this.client.discard(id),
      }),
    );
    const newest = next.messages.at(-1)?.seq ?? 0;
    const appended = this.drawn !== null && (newest > this.newestDrawn || next.outgoing.length > this.drawn.outgoing.length);
    const prepended = (next.messages[0]?.seq ?? Infinity) < firstBefore && this.drawn !== null && this.drawn.messages.length > 0;
    this.drawn = next;
    this.newestDrawn = Math.max(this.newestDrawn, newest);
    if (this.stickNext || (atBottom && !prepended)) {
      this.stickNext = false;
      this.scrollToBottom();
    } else if (prepended && anchor) {
      // The row may have been rebuilt (it no longer starts a group): find it again by key.
      const now = this.list.querySelector<HTMLElement>(`[data-key="${anchor.dataset.key}"]`);
      if (now) this.scroller.scrollTop += now.getBoundingClientRect().top - anchorTop;
    }
    if (appended && !this.atBottom()) this.newMessages.hidden = false;
    if (snap.messages.length === 0 && !snap.hasMore && next.outgoing.length === 0) this.renderEmptyConversation();
  }

  private renderEmptyConversation(): void {
    const peer = otherMember(this.conversation!, this.me);
    this.list.replaceChildren(
      el('li', { className: 'conversation-empty' }, avatar(peer, 'lg'), el('p', { className: 'empty-title' }, `This is the start of your conversation with ${peer.name}`), el('p', {}, 'Say hello 👋')),
    );
    this.drawn = null;
  }

  private renderHistory(snap: ConversationSnapshot): void {
    const peer = otherMember(this.conversation!, this.me);
    let content: HTMLElement | string = '';
    if (snap.error) {
      const retry = el('button', { className: 'link', attrs: { type: 'button' } }, 'Try again');
      retry.onclick = () => void this.view?.loadOlder();
      content = el('span', { className: 'error' }, 'Couldn’t load messages. ', retry);
    } else if (snap.loading) content = snap.messages.length ? 'Loading earlier messages…' : 'Loading messages…';
    else if (!snap.hasMore && snap.messages.length > 0) content = `This is the beginning of your conversation with ${peer.name}.`;
    const sig = typeof content === 'string' ? content : 'error';
    if (this.history.dataset.sig === sig) return;
    this.history.dataset.sig = sig;
    this.history.replaceChildren(content);
    this.history.dataset.state = snap.error ? 'error' : snap.loading ? 'loading' : snap.hasMore ? 'more' : 'start';
  }

  private renderHead(): void {
    const c = this.conversation!;
    const peer = otherMember(c, this.me);
    const state = this.presence.of(peer.id);
    const status = state.online ? 'Online' : state.lastSeenAt ? `Last seen ${state.lastSeenAgo}` : '';
    const sig = `${peer.id}${peer.name}${peer.avatar_url}${status}`;
    if (sig === this.headSig) return;
    this.headSig = sig;
    this.headAvatar.replaceChildren(avatar(peer, 'md', state.online));
    this.title.textContent = peer.name;
    this.subtitle.replaceChildren(el('span', {}, roleOf(c, peer)), status && el('span', { className: state.online ? 'online' : '' }, ` · ${status}`));
  }

  private renderTyping(userIds: number[]): void {
    const peer = otherMember(this.conversation!, this.me);
    const typing = userIds.includes(peer.id);
    this.typingLine.hidden = !typing;
    if (typing) this.typingLine.textContent = `${peer.name} is typing…`;
  }

  private onScroll(): void {
    if (this.atBottom()) {
      this.newMessages.hidden = true;
      this.markRead();
    }
    const snap = this.view?.getSnapshot();
    if (snap && this.scroller.scrollTop < NEAR_TOP_PX && snap.hasMore && !snap.loading && snap.messages.length > 0) void this.view!.loadOlder();
  }

  private atBottom(): boolean {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < NEAR_BOTTOM_PX;
  }

  private scrollToBottom(): void {
    this.scroller.scrollTop = this.scroller.scrollHeight;
    this.newMessages.hidden = true;
    this.markRead();
  }

  /** Moves the read marker to the newest message once it is in view, once per new message. */
  private markRead(): void {
    const c = this.conversation;
    const latest = this.drawn?.messages.at(-1)?.seq ?? 0;
    if (!c || latest === 0 || !this.isShowing(c.id) || !this.atBottom()) return;
    if (latest <= Math.max(this.lastReadSent.get(c.id) ?? 0, c.read_seq ?? 0)) return;
    this.lastReadSent.set(c.id, latest);
    this.client.markRead(c.id, latest).catch(() => this.lastReadSent.delete(c.id));
  }
}

function sameDrawing(a: Drawn | null, b: Drawn): boolean {
  return a !== null && a.messages === b.messages && a.read === b.read && a.delivered === b.delivered && a.me === b.me &&
    a.outgoing.length === b.outgoing.length && a.outgoing.every((o, i) => o === b.outgoing[i]);
}
