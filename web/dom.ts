/** The element with `id`, of the expected type; a missing one is a bug in index.html. */
export function byId<T extends HTMLElement = HTMLElement>(id: string, type?: new () => T): T {
  const found = document.getElementById(id);
  if (!found || (type && !(found instanceof type))) throw new Error(`index.html has no #${id} of the expected kind`);
  return found as T;
}

export type Child = Node | string | null | undefined | false;

/** Builds an element; text always goes in as text nodes, so nothing a user typed becomes markup. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { className?: string; attrs?: Record<string, string> } = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.className) node.className = props.className;
  for (const [name, value] of Object.entries(props.attrs ?? {})) node.setAttribute(name, value);
  for (const child of children) if (child) node.append(child);
  return node;
}

/** Text for screen readers only (a tick's meaning, a badge's unit). */
export const srOnly = (text: string) => el('span', { className: 'sr-only' }, text);

/** Values of a form's named inputs. */
export function formValues(form: HTMLFormElement): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [name, value] of new FormData(form)) if (typeof value === 'string') values[name] = value.trim();
  return values;
}

/** One row of a keyed list: `sig` changes whenever what `build` would draw changes. */
export interface Keyed {
  key: string;
  sig: string;
  build: () => HTMLElement;
}

const sigs = new WeakMap<Element, string>();

/**
 * Puts `items` into `parent` in order, keeping the nodes whose key and signature did not
 * change: a re-render does not steal focus, reset a text selection or restart an image.
 * When a focused row is rebuilt, focus moves to the same control in the new row.
 */
export function reconcile(parent: HTMLElement, items: Keyed[]): void {
  const old = new Map<string, HTMLElement>();
  for (const child of [...parent.children] as HTMLElement[]) if (child.dataset.key) old.set(child.dataset.key, child);
  const focused = document.activeElement;
  let refocus: { key: string; selector: string } | null = null;
  const next = items.map((item) => {
    const existing = old.get(item.key);
    if (existing && sigs.get(existing) === item.sig) return existing;
    if (existing && focused instanceof HTMLElement && existing.contains(focused)) refocus = { key: item.key, selector: focusSelector(focused) };
    const node = item.build();
    node.dataset.key = item.key;
    sigs.set(node, item.sig);
    return node;
  });
  // Moving only what is out of place keeps untouched rows (and a focused one) where they are.
  let cursor: ChildNode | null = parent.firstChild;
  for (const node of next) {
    if (node === cursor) cursor = node.nextSibling;
    else parent.insertBefore(node, cursor);
  }
  while (cursor) {
    const after: ChildNode | null = cursor.nextSibling;
    cursor.remove();
    cursor = after;
  }
  if (refocus) {
    const { key, selector } = refocus as { key: string; selector: string };
    const row = next.find((n) => n.dataset.key === key);
    (row?.querySelector<HTMLElement>(selector) ?? row)?.focus();
  }
}

function focusSelector(node: HTMLElement): string {
  return node.className ? `${node.tagName.toLowerCase()}.${node.className.trim().split(/\s+/).join('.')}` : node.tagName.toLowerCase();
}

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

export function shortTime(iso: string): string {
  return new Date(iso).toLocaleTimeString([], { hour: 'numeric', minute: '2-digit' });
}

const startOfDay = (d: Date) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();

/** A day as a date separator says it: Today, Yesterday, a weekday this week, else the date. */
export function dayLabel(iso: string, now = new Date()): string {
  const date = new Date(iso);
  const days = Math.round((startOfDay(now) - startOfDay(date)) / DAY);
  if (days === 0) return 'Today';
  if (days === 1) return 'Yesterday';
  if (days > 1 && days < 7) return date.toLocaleDateString([], { weekday: 'long' });
  const sameYear = date.getFullYear() === now.getFullYear();
  return date.toLocaleDateString([], { day: 'numeric', month: 'long', ...(!sameYear && { year: 'numeric' }) });
}

/** The local calendar day, for grouping. */
export const dayKey = (iso: string) => {
  const d = new Date(iso);
  return `${d.getFullYear()}-${d.getMonth() + 1}-${d.getDate()}`;
};

/** What a conversation list shows for its last activity: a time today, else a short date. */
export function listTime(iso: string, now = new Date()): string {
  const date = new Date(iso);
  const days = Math.round((startOfDay(now) - startOfDay(date)) / DAY);
  if (days === 0) return shortTime(iso);
  if (days === 1) return 'Yesterday';
  if (days < 7) return date.toLocaleDateString([], { weekday: 'short' });
  return date.toLocaleDateString([], { day: 'numeric', month: 'short' });
}

/** "just now", "5 min ago", "3 h ago", else a date: for "last seen". */
export function ago(iso: string, now = Date.now()): string {
  const ms = now - new Date(iso).getTime();
  if (ms < MINUTE) return 'just now';
  if (ms < 60 * MINUTE) return `${Math.floor(ms / MINUTE)} min ago`;
  if (ms < DAY) return `${Math.floor(ms / (60 * MINUTE))} h ago`;
  return dayLabel(iso).toLowerCase() === 'yesterday' ? 'yesterday' : `on ${dayLabel(iso)}`;
}
