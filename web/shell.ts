import type { Conversation } from '@inbox-hub/client';
import { byId } from './dom.js';

const ROUTE = /^#\/c\/(\d+)$/;

/**
 * The open conversation lives in the address (`#/c/<id>`): a reload reopens it, and on a
 * phone the browser's Back goes from the conversation to the list, as the back button does.
 */
export class Router {
  private pending: number | null = null;

  constructor(
    private readonly show: (c: Conversation) => void,
    private readonly showList: () => void,
    private readonly find: (id: number) => Conversation | undefined,
  ) {
    window.addEventListener('popstate', () => this.route());
  }

  start(): void {
    this.route();
  }

  open(id: number): void {
    if (location.hash !== `#/c/${id}`) history.pushState({ inbox: true }, '', `#/c/${id}`);
    this.route();
  }

  /** Back to the list: the way the user came when they came from it, else by replacing the address. */
  back(): void {
    if ((history.state as { inbox?: boolean } | null)?.inbox) return history.back();
    history.replaceState(null, '', location.pathname + location.search);
    this.route();
  }

  /** A conversation named in the address that the list did not have yet (it was still loading). */
  resolvePending(): void {
    if (this.pending === null) return;
    const c = this.find(this.pending);
    if (!c) return;
    this.pending = null;
    this.show(c);
  }

  private route(): void {
    const id = Number(ROUTE.exec(location.hash)?.[1] ?? NaN);
    if (!Number.isFinite(id)) {
      this.pending = null;
      return this.showList();
    }
    const c = this.find(id);
    this.pending = c ? null : id;
    if (c) this.show(c);
  }
}

/**
 * Jobs: a third pane on a wide screen, a drawer over the inbox below that (the CSS decides
 * which; this only opens and closes it, and keeps focus where a keyboard user expects it).
 */
export class JobsDrawer {
  private readonly main = byId('inbox-view');
  private readonly toggle = byId('jobs-button', HTMLButtonElement);
  private readonly count = byId('jobs-count');
  private readonly pane = byId('jobs-pane');

  constructor() {
    this.toggle.onclick = () => (this.isOpen() ? this.close() : this.open());
    byId('jobs-close').onclick = () => this.close();
    byId('drawer-backdrop').onclick = () => this.close();
    document.addEventListener('keydown', (e) => e.key === 'Escape' && this.isOpen() && this.close());
  }

  /** Opens the drawer (a no-op for the eye on a wide screen), showing `jobId` if given. */
  open(jobId?: string): void {
    this.main.classList.add('jobs-open');
    this.toggle.setAttribute('aria-expanded', 'true');
    const row = jobId ? this.pane.querySelector<HTMLElement>(`[data-job-id="${CSS.escape(jobId)}"]`) : null;
    row?.scrollIntoView({ block: 'nearest' });
    row?.classList.add('highlight');
    setTimeout(() => row?.classList.remove('highlight'), 2000);
    byId('jobs-title').focus();
  }

  close(): void {
    if (!this.isOpen()) return;
    this.main.classList.remove('jobs-open');
    this.toggle.setAttribute('aria-expanded', 'false');
    if (this.pane.contains(document.activeElement)) this.toggle.focus();
  }

  /** Running jobs, as a badge on the toggle. */
  setCount(n: number): void {
    this.count.hidden = n === 0;
    this.count.textContent = String(n);
    this.toggle.setAttribute('aria-label', n ? `Jobs, ${n} running` : 'Jobs');
  }

  private isOpen(): boolean {
    return this.main.classList.contains('jobs-open');
  }
}
