import type { Conversation as ConversationDto, InboxClient, Message as MessageDto, OutgoingMessage, User as UserDto } from '@inbox-hub/client';
import { api } from './api.js';
import { otherMember } from './conversations.js';
import { byId, el, shortTime } from './dom.js';

/** How often `typing` is sent while the user keeps typing, and how long the indicator lasts. */
const TYPING_THROTTLE_MS = 2000;
const TYPING_SHOWN_MS = 3000;

/** The open conversation: history, live messages in seq order, typing and read markers. */
export class ChatPane {
  private conversation: ConversationDto | null = null;
  private readonly messages = new Map<number, MessageDto>();
  private opened = 0;
  private lastReadSent = 0;
  private otherReadSeq = 0;
  private lastTypingSent = 0;
  private typingTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly list = byId('message-list', HTMLOListElement);
  private readonly form = byId('message-form', HTMLFormElement);
  private readonly typingLine = byId('typing-indicator');
  private readonly error = byId('chat-error');

  constructor(
    private readonly client: InboxClient,
    private readonly me: UserDto,
    private readonly onReadSent: (conversationId: number) => void,
  ) {
    this.form.onsubmit = (event) => {
      event.preventDefault();
      this.send();
    };
    this.input().oninput = () => this.sendTyping();
    // Sent messages show from the outbox (pending, or failed with a retry) until the hub's copy arrives.
    client.on('outbox', () => this.render());
    document.addEventListener('visibilitychange', () => this.markRead());
  }

  get openId(): number | null {
    return this.conversation?.id ?? null;
  }

  /** True when a message of this conversation is in front of the user right now. */
  isShowing(conversationId: number): boolean {
    return this.conversation?.id === conversationId && document.visibilityState !== 'hidden';
  }

  async open(conversation: ConversationDto): Promise<void> {
    const opened = ++this.opened;
    this.conversation = conversation;
    this.messages.clear();
    this.lastReadSent = 0;
    this.otherReadSeq = 0;
    byId('chat-title').textContent = otherMember(conversation, this.me).name;
    this.form.hidden = false;
    this.error.textContent = '';
    this.hideTyping();
    this.render();
    try {
      const page = await api.history(conversation.id);
      // A slower answer for a conversation the user already left must not paint over the new one.
      if (opened !== this.opened) return;
      for (const m of page.messages) this.messages.set(m.seq, m);
    } catch {
      this.error.textContent = 'Could not load the history.';
    }
    this.render();
    this.markRead();
    this.input().focus();
  }

  onMessage(message: MessageDto): void {
    if (message.conversation_id !== this.conversation?.id) return;
    this.messages.set(message.seq, message);
    if (message.sender_id !== String(this.me.id)) this.hideTyping();
    this.render();
    this.markRead();
  }

  onTyping(event: { conversation_id: number; user_id: number }): void {
    if (event.conversation_id !== this.conversation?.id || event.user_id === this.me.id) return;
    this.typingLine.textContent = `${otherMember(this.conversation, this.me).name} is typing…`;
    this.typingLine.hidden = false;
    clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(() => this.hideTyping(), TYPING_SHOWN_MS);
  }

  onRead(event: { conversation_id: number; user_id: number; seq: number }): void {
    if (event.conversation_id !== this.conversation?.id || event.user_id === this.me.id) return;
    this.otherReadSeq = Math.max(this.otherReadSeq, event.seq);
    this.render();
  }

  /** Returns at once: the outbox keeps the message (across reloads too) until the hub stores it. */
  private send(): void {
    const input = this.input();
    const text = input.value.trim();
    if (!text || !this.conversation) return;
    input.value = '';
    this.error.textContent = '';
    const { outgoing } = this.client.send(this.conversation.id, text);
    if (outgoing.error) this.error.textContent = `Not sent: ${outgoing.error.message}`;
  }

  private sendTyping(): void {
    const now = Date.now();
    if (!this.conversation || now - this.lastTypingSent < TYPING_THROTTLE_MS) return;
    this.lastTypingSent = now;
    this.client.typing(this.conversation.id).catch(() => undefined);
  }

  /** Moves the read marker to the newest message on screen, once per new message. */
  private markRead(): void {
    const c = this.conversation;
    const latest = Math.max(0, ...this.messages.keys());
    if (!c || latest <= this.lastReadSent || !this.isShowing(c.id)) return;
    this.lastReadSent = latest;
    this.client.markRead(c.id, latest).catch(() => {
      this.lastReadSent = 0;
    });
    this.onReadSent(c.id);
  }

  private hideTyping(): void {
    clearTimeout(this.typingTimer);
    this.typingLine.hidden = true;
  }

  private render(): void {
    const sorted = [...this.messages.values()].sort((a, b) => a.seq - b.seq);
    const stored = new Set(sorted.map((m) => m.client_msg_id));
    const outgoing = this.client.pending().filter((m) => m.conversation_id === this.conversation?.id && !stored.has(m.client_msg_id));
    this.list.replaceChildren(...sorted.map((m) => this.item(m)), ...outgoing.map((m) => this.outgoingItem(m)));
    this.list.lastElementChild?.scrollIntoView({ block: 'end' });
  }

  private outgoingItem(m: OutgoingMessage): HTMLLIElement {
    const failed = m.status === 'failed';
    const retry = failed && el('button', { className: 'retry', attrs: { type: 'button' } }, 'Retry');
    if (retry) retry.onclick = () => this.client.retry(m.client_msg_id);
    return el(
      'li',
      { className: `message mine ${m.status}`, attrs: { 'data-client-msg-id': m.client_msg_id } },
      el('span', { className: 'sender' }, this.me.name),
      el('span', { className: 'text' }, m.message),
      el('span', { className: 'receipt' }, failed ? `Not sent (${m.error?.code})` : 'Sending…'),
      retry,
    );
  }

  private item(m: MessageDto): HTMLLIElement {
    const mine = m.sender_id === String(this.me.id);
    return el(
      'li',
      { className: `message ${mine ? 'mine' : 'theirs'}`, attrs: { 'data-seq': String(m.seq) } },
      el('span', { className: 'sender' }, m.sender_name),
      el('span', { className: 'text' }, m.message),
      el('time', { className: 'when' }, shortTime(m.created_at)),
      mine && m.seq <= this.otherReadSeq && el('span', { className: 'receipt' }, 'Seen'),
    );
  }

  private input(): HTMLInputElement {
    return this.form.elements.namedItem('message') as HTMLInputElement;
  }
}
