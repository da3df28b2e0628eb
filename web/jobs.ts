import type { InboxClient, Job as JobDto } from '@inbox-hub/client';
import { api, ApiError } from './api.js';
import { byId, el, formValues } from './dom.js';

const FINAL_STATES = new Set(['completed', 'failed', 'cancelled']);

/**
 * Where a finished export is downloaded. The contract has no such route yet (the export
 * writes a file on the worker's disk); this is the one place to change when it exists.
 */
export const exportDownloadUrl = (jobId: string) => `/api/jobs/${encodeURIComponent(jobId)}/download`;

/** Starts jobs and shows each one's progress live through `job:watch` / `job:status`. */
export class JobsPanel {
  private readonly rows = new Map<string, HTMLLIElement>();
  private readonly list = byId('job-list', HTMLUListElement);
  private readonly error = byId('job-error');
  private readonly exportButton = byId('export-job', HTMLButtonElement);

  constructor(
    private readonly client: InboxClient,
    private readonly openConversation: () => number | null,
  ) {
    const demoForm = byId('demo-job-form', HTMLFormElement);
    demoForm.onsubmit = (event) => {
      event.preventDefault();
      const v = formValues(demoForm);
      void this.start('demo.steps', { steps: Number(v.steps), step_ms: Number(v.step_ms) });
    };
    this.exportButton.onclick = () => {
      const id = this.openConversation();
      if (id !== null) void this.start('conversation.export', { conversation_id: id });
    };
  }

  /** The export button needs an open conversation. */
  setConversationOpen(open: boolean): void {
    this.exportButton.disabled = !open;
  }

  /** Shows the user's recent jobs and follows the unfinished ones; quiet if the hub has no jobs API. */
  async load(): Promise<void> {
    try {
      const { jobs } = await api.jobs();
      for (const job of [...jobs].reverse()) this.show(job, !FINAL_STATES.has(job.state));
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) this.error.textContent = 'Could not list jobs.';
    }
  }

  private async start(name: string, data: unknown): Promise<void> {
    this.error.textContent = '';
    try {
      const { job } = await api.startJob(name, data);
      this.show(job, true);
    } catch (err) {
      this.error.textContent = err instanceof ApiError ? err.message : 'The hub did not answer.';
    }
  }

  private show(job: JobDto, follow: boolean): void {
    this.render(job);
    if (!follow) return;
    this.client.watchJob(job.job_id, (j) => this.render(j)).catch((err: Error) => {
      this.error.textContent = `Cannot follow job ${job.job_id}: ${err.message}`;
    });
  }

  private render(job: JobDto): void {
    const row = el(
      'li',
      { className: `job ${job.state}`, attrs: { 'data-job-id': job.job_id, 'data-state': job.state } },
      el('span', { className: 'job-name' }, job.name),
      el('span', { className: 'job-state' }, job.state),
      el('progress', { attrs: { max: '100', value: String(job.progress) } }),
      el('span', { className: 'job-progress' }, `${job.progress}%`),
      job.status_text && el('span', { className: 'job-status' }, job.status_text),
      job.error && el('span', { className: 'job-error error' }, job.error),
      this.extra(job),
    );
    const previous = this.rows.get(job.job_id);
    if (previous) previous.replaceWith(row);
    else this.list.prepend(row);
    this.rows.set(job.job_id, row);
  }

  private extra(job: JobDto): HTMLElement | null {
    if (!FINAL_STATES.has(job.state)) {
      const cancel = el('button', { className: 'job-cancel', attrs: { type: 'button' } }, 'Cancel');
      cancel.onclick = () => api.cancelJob(job.job_id).catch((err: Error) => (this.error.textContent = err.message));
      return cancel;
    }
    if (job.name !== 'conversation.export' || job.state !== 'completed') return null;
    const count = (job.result as { message_count?: number } | null)?.message_count ?? 0;
    return el('a', { className: 'job-download', attrs: { href: exportDownloadUrl(job.job_id), download: '' } }, `Download (${count} messages)`);
  }
}
