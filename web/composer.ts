import { byId } from './dom.js';

/** How often `typing` is sent while the user keeps typing. */
const TYPING_THROTTLE_MS = 2000;
/** The hub's default MAX_MESSAGE_LENGTH; the counter shows in the last COUNTER_FROM characters. */
const MAX_LENGTH = 4000;
const COUNTER_FROM = 500;
const MAX_HEIGHT_PX = 160;

/**
 * The message box: Enter sends, Shift+Enter starts a new line, it grows with its text up to
 * a few lines, counts characters near the limit and refuses a message over it.
 */
export class Composer {
  private lastTypingSent = 0;
  private readonly form = byId('message-form', HTMLFormElement);
  private readonly input = byId('message-input', HTMLTextAreaElement);
  private readonly counter = byId('message-counter');
  private readonly error = byId('chat-error');

  constructor(
    private readonly onSend: (text: string) => void,
    private readonly onTyping: () => void,
  ) {
    this.form.onsubmit = (event) => {
      event.preventDefault();
      this.send();
    };
    this.input.onkeydown = (event) => {
      if (event.key !== 'Enter' || event.shiftKey || event.isComposing) return;
      event.preventDefault();
      this.form.requestSubmit();
    };
    this.input.oninput = () => this.changed();
  }

  /** Empty, and shown or hidden with the conversation. */
  reset(shown: boolean): void {
    this.form.hidden = !shown;
    this.error.textContent = '';
    this.input.value = '';
    this.resize();
  }

  focus(): void {
    this.input.focus({ preventScroll: true });
  }

  /** Returns at once: the outbox keeps the message (across reloads too) until the hub stores it. */
  private send(): void {
    const text = this.input.value.trim();
    if (!text) return;
    if ([...text].length > MAX_LENGTH) {
      this.error.textContent = `This message is too long: keep it under ${MAX_LENGTH.toLocaleString()} characters.`;
      return;
    }
    this.error.textContent = '';
    this.input.value = '';
    this.resize();
    this.onSend(text);
  }

  private changed(): void {
    this.resize();
    const length = [...this.input.value].length;
    this.counter.hidden = length < MAX_LENGTH - COUNTER_FROM;
    this.counter.textContent = `${length.toLocaleString()} / ${MAX_LENGTH.toLocaleString()}`;
    this.counter.dataset.over = String(length > MAX_LENGTH);
    const now = Date.now();
    if (!this.input.value || now - this.lastTypingSent < TYPING_THROTTLE_MS) return;
    this.lastTypingSent = now;
    this.onTyping();
  }

  private resize(): void {
    this.input.style.height = 'auto';
    this.input.style.height = `${Math.min(this.input.scrollHeight, MAX_HEIGHT_PX)}px`;
    if (!this.input.value) this.counter.hidden = true;
  }
}
