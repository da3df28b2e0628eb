import type { Conversation, InboxStore, Peer, User } from '@inbox-hub/client';
import { avatar } from './avatar.js';
import { byId, el, listTime, reconcile, srOnly } from './dom.js';
import type { Presence } from './presence.js';

export const otherMember = (c: Conversation, me: User): Peer => (c.client.id === me.id ? c.worker : c.client);

/** The other member's part in the conversation, as a marketplace inbox labels it. */
export const roleOf = (c: Conversation, peer: Peer) => (c.worker.id === peer.id ? 'Worker' : 'Client');

/** The sidebar: conversations by latest activity, each with avatar, presence, last message and unread count. */
export class ConversationList {
  private readonly root = byId('conversation-list', HTMLUListElement);
  private readonly empty = byId('conversations-empty');
  private selectedId: number | null = null;

  constructor(
    private readonly me: User,
    private readonly store: InboxStore,
    private readonly presence: Presence,
    private readonly onSelect: (conversation: Conversation) => void,
    /** The open conversation, visible now: its new messages are read as they come, so no badge. */
    private readonly isShowing: (id: number) => boolean,
  ) {}

  get selected(): number | null {
    return this.selectedId;
  }

  find(id: number): Conversation | undefined {
    return this.store.getSnapshot().conversations.find((c) => c.id === id);
  }

  /** Marks the open conversation (choosing one is the click's job, through `onSelect`). */
  select(id: number | null): void {
    this.selectedId = id;
    this.render();
  }

  focus(id: number): void {
    this.root.querySelector<HTMLElement>(`[data-conversation-id="${id}"] button`)?.focus();
  }

  render(): void {
    const { conversations } = this.store.getSnapshot();
    this.empty.hidden = conversations.length > 0;
    reconcile(
      this.root,
      conversations.map((c) => {
        const unread = this.isShowing(c.id) ? 0 : c.unread_count;
        const online = this.presence.of(otherMember(c, this.me).id).online;
        const last = c.last_message;
        return {
          key: `c-${c.id}`,
          sig: `${c.id === this.selectedId}${unread}${online}${last?.id}${listTime(last?.created_at ?? c.created_at)}${otherMember(c, this.me).name}`,
          build: () => this.item(c, unread, online),
        };
      }),
    );
  }

  private item(c: Conversation, unread: number, online: boolean): HTMLLIElement {
    const other = otherMember(c, this.me);
    const last = c.last_message;
    const mine = last?.sender_id === String(this.me.id);
    const button = el(
      'button',
      { attrs: { type: 'button' } },
      avatar(other, 'md', online),
      el(
        'span',
        { className: 'conversation-text' },
        el('span', { className: 'name' }, other.name),
        el('time', { className: 'when', attrs: { datetime: last?.created_at ?? c.created_at } }, listTime(last?.created_at ?? c.created_at)),
        el('span', { className: 'preview' }, last ? `${mine ? 'You: ' : ''}${last.message}` : 'No messages yet'),
        unread > 0 && el('span', { className: 'unread', attrs: { 'aria-hidden': 'true' } }, String(unread)),
        unread > 0 && srOnly(`${unread} unread ${unread === 1 ? 'message' : 'messages'}`),
      ),
    );
    button.onclick = () => this.onSelect(c);
    const attrs: Record<string, string> = { 'data-conversation-id': String(c.id) };
    if (c.id === this.selectedId) attrs['aria-current'] = 'true';
    return el('li', { className: `conversation${unread > 0 ? ' has-unread' : ''}`, attrs }, button);
  }
}
