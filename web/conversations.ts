import type { Conversation as ConversationDto, Message as MessageDto, Peer, User as UserDto } from '@inbox-hub/client';
import { byId, el, shortTime } from './dom.js';

export const otherMember = (c: ConversationDto, me: UserDto): Peer => (c.client.id === me.id ? c.worker : c.client);

const activity = (c: ConversationDto) => c.last_message?.created_at ?? c.created_at;

/** The sidebar: conversations by latest activity, each with its last message and unread count. */
export class ConversationList {
  private readonly items = new Map<number, ConversationDto>();
  private readonly root = byId('conversation-list', HTMLUListElement);
  private selectedId: number | null = null;

  constructor(
    private readonly me: UserDto,
    private readonly onSelect: (conversation: ConversationDto) => void,
  ) {}

  get selected(): ConversationDto | null {
    return this.selectedId === null ? null : (this.items.get(this.selectedId) ?? null);
  }

  has(id: number): boolean {
    return this.items.has(id);
  }

  load(conversations: ConversationDto[]): void {
    this.items.clear();
    for (const c of conversations) this.items.set(c.id, c);
    this.render();
  }

  upsert(conversation: ConversationDto): void {
    this.items.set(conversation.id, conversation);
    this.render();
  }

  select(id: number): void {
    const conversation = this.items.get(id);
    if (!conversation) return;
    this.selectedId = id;
    this.render();
    this.onSelect(conversation);
  }

  /** `readNow` when the message is on screen: it never counts as unread. */
  onMessage(message: MessageDto, readNow: boolean): void {
    const c = this.items.get(message.conversation_id);
    if (!c) return;
    const fromOther = message.sender_id !== String(this.me.id);
    const newer = !c.last_message || message.seq > c.last_message.seq;
    const unread = fromOther && !readNow ? c.unread_count + 1 : c.unread_count;
    this.items.set(c.id, { ...c, last_message: newer ? message : c.last_message, unread_count: unread });
    this.render();
  }

  markRead(id: number): void {
    const c = this.items.get(id);
    if (!c || c.unread_count === 0) return;
    this.items.set(id, { ...c, unread_count: 0 });
    this.render();
  }

  private render(): void {
    const sorted = [...this.items.values()].sort((a, b) => activity(b).localeCompare(activity(a)));
    this.root.replaceChildren(...sorted.map((c) => this.item(c)));
  }

  private item(c: ConversationDto): HTMLLIElement {
    const other = otherMember(c, this.me);
    const last = c.last_message;
    const button = el(
      'button',
      { attrs: { type: 'button' } },
      el('span', { className: 'name' }, other.name),
      c.unread_count > 0 && el('span', { className: 'unread', attrs: { 'aria-label': 'unread' } }, String(c.unread_count)),
      el('span', { className: 'preview' }, last ? `${last.message}` : 'No messages yet'),
      last && el('time', { className: 'when' }, shortTime(last.created_at)),
    );
    button.onclick = () => this.select(c.id);
    const attrs: Record<string, string> = { 'data-conversation-id': String(c.id) };
    if (c.id === this.selectedId) attrs['aria-current'] = 'true';
    return el('li', { className: 'conversation', attrs }, button);
  }
}
