import type { InboxClient, Notice } from '@inbox-hub/client';
import { api, ApiError } from './api.js';
import { byId, el, listTime } from './dom.js';
import { humanError } from './errors.js';

/**
 * The bell: the unread count from `ready.unread_notices` plus each `notice:new`, and on
 * opening the latest notices (`GET /api/notices`), marked read up to the newest one. A hub
 * without notices answers 404, which reads as "nothing yet".
 */
export class NoticesBell {
  private unread = 0;
  private notices: Notice[] = [];
  private readonly button = byId('notices-button', HTMLButtonElement);
  private readonly count = byId('notices-count');
  private readonly panel = byId('notices-panel');
  private readonly list = byId('notice-list', HTMLUListElement);
  private readonly status = byId('notices-status');

  constructor(client: InboxClient, private readonly onOpenJob: (jobId: string) => void) {
    client.on('ready', (info) => this.setUnread(info.unread_notices));
    client.on('notice', (notice) => {
      this.notices = [notice, ...this.notices.filter((n) => n.id !== notice.id)];
      this.setUnread(this.unread + 1);
      if (!this.panel.hidden) void this.markRead();
      this.renderList();
    });
    this.button.onclick = () => (this.panel.hidden ? void this.open() : this.close());
    document.addEventListener('keydown', (e) => e.key === 'Escape' && !this.panel.hidden && (this.close(), this.button.focus()));
    document.addEventListener('click', (e) => {
      if (!this.panel.hidden && !this.panel.contains(e.target as Node) && !this.button.contains(e.target as Node)) this.close();
    });
    this.setUnread(client.readyInfo?.unread_notices ?? 0);
  }

  private async open(): Promise<void> {
    this.panel.hidden = false;
    this.button.setAttribute('aria-expanded', 'true');
    this.status.textContent = 'Loading…';
    try {
      this.notices = (await api.notices()).notices;
      this.status.textContent = '';
    } catch (err) {
      this.status.textContent = err instanceof ApiError && err.status === 404 ? '' : humanError(err, 'notices');
    }
    this.renderList();
    await this.markRead();
  }

  private close(): void {
    this.panel.hidden = true;
    this.button.setAttribute('aria-expanded', 'false');
  }

  private async markRead(): Promise<void> {
    const newest = this.notices.find((n) => n.read_at === null);
    if (!newest && this.unread === 0) return;
    const upTo = Math.max(0, ...this.notices.map((n) => n.id));
    if (upTo === 0) return;
    try {
      await api.markNoticesRead(upTo);
      const now = new Date().toISOString();
      this.notices = this.notices.map((n) => (n.id <= upTo && !n.read_at ? { ...n, read_at: now } : n));
      this.setUnread(0);
    } catch {
      // Left unread: the bell keeps its count and the next opening tries again.
    }
  }

  private setUnread(count: number): void {
    this.unread = Math.max(0, count);
    this.count.hidden = this.unread === 0;
    this.count.textContent = this.unread > 99 ? '99+' : String(this.unread);
    this.button.setAttribute('aria-label', this.unread ? `Notifications, ${this.unread} unread` : 'Notifications');
  }

  private renderList(): void {
    const items = this.notices.map((n) => {
      const open = el(
        'button',
        { attrs: { type: 'button' } },
        el('span', { className: `notice-icon ${n.kind.replace('.', '-')}`, attrs: { 'aria-hidden': 'true' } }, n.kind === 'job.completed' ? '✓' : '!'),
        el('span', { className: 'notice-title' }, n.title),
        el('time', { attrs: { datetime: n.created_at } }, listTime(n.created_at)),
      );
      open.onclick = () => {
        this.close();
        this.onOpenJob(n.job_id);
      };
      return el('li', { className: `notice${n.read_at ? '' : ' is-unread'}`, attrs: { 'data-notice-id': String(n.id) } }, open);
    });
    this.list.replaceChildren(...items);
    if (items.length === 0 && !this.status.textContent) this.status.textContent = 'You’re all caught up. Finished jobs show up here.';
  }
}
