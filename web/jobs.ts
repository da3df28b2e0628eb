import type { InboxClient, Job as JobDto, OutputChunk } from '@inbox-hub/client';
import { api } from './api.js';
import { byId, el, formValues, listTime } from './dom.js';
import { humanError } from './errors.js';

const FINAL_STATES = new Set(['completed', 'failed', 'cancelled']);
/** Output lines kept on screen per job; older ones scroll away (the hub keeps them all). */
const MAX_LINES = 200;

const TITLES: Record<string, string> = { 'demo.steps': 'Demo job', 'conversation.export': 'Export conversation', 'demo.stream': 'Streamed output' };
const STATES: Record<string, string> = {
  waiting: 'Waiting', delayed: 'Scheduled', active: 'Running', completed: 'Done', failed: 'Failed', cancelled: 'Cancelled',
};

/**
 * Where a finished export is downloaded. The contract has no such route yet (the export
 * writes a file on the worker's disk); this is the one place to change when it exists.
 */
export const exportDownloadUrl = (jobId: string) => `/api/jobs/${encodeURIComponent(jobId)}/download`;

/** Starts jobs and shows each one's progress and output live through `job:watch`. */
export class JobsPanel {
  private readonly rows = new Map<string, HTMLLIElement>();
  private readonly outputs = new Map<string, { pre: HTMLPreElement; lines: string[]; partial: string }>();
  private readonly active = new Set<string>();
  private readonly list = byId('job-list', HTMLUListElement);
  private readonly empty = byId('jobs-empty');
  private readonly error = byId('job-error');
  private readonly exportButton = byId('export-job', HTMLButtonElement);

  constructor(
    private readonly client: InboxClient,
    private readonly openConversation: () => number | null,
    private readonly onActiveCount: (count: number) => void,
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
      this.error.textContent = `Couldn’t list your jobs. ${humanError(err, 'job')}`;
    }
    this.empty.hidden = this.rows.size > 0;
  }

  private async start(name: string, data: unknown): Promise<void> {
    this.error.textContent = '';
    try {
      const { job } = await api.startJob(name, data);
      this.show(job, true);
    } catch (err) {
      this.error.textContent = humanError(err, 'job');
    }
  }

  private show(job: JobDto, follow: boolean): void {
    this.render(job);
    if (!follow) return;
    this.client
      .watchJob(job.job_id, { onStatus: (j) => this.render(j), onOutput: (chunks) => this.output(job.job_id, chunks) })
      .catch((err: unknown) => (this.error.textContent = `Can’t follow “${TITLES[job.name] ?? job.name}” live. ${humanError(err, 'job')}`));
  }

  private render(job: JobDto): void {
    const title = TITLES[job.name] ?? job.name;
    const row = el(
      'li',
      { className: `job ${job.state}`, attrs: { 'data-job-id': job.job_id, 'data-state': job.state } },
      el('div', { className: 'job-head' }, el('span', { className: 'job-title' }, title), el('span', { className: 'job-state' }, STATES[job.state] ?? job.state)),
      el('div', { className: 'job-meta' }, el('code', { className: 'job-name' }, job.name), el('time', { attrs: { datetime: job.created_at } }, listTime(job.created_at))),
      el('div', { className: 'job-bar' },
        el('progress', { attrs: { max: '100', value: String(job.progress), 'aria-label': `${title}: ${job.progress}%` } }),
        el('span', { className: 'job-progress' }, `${job.progress}%`)),
      job.status_text && el('span', { className: 'job-status' }, job.status_text),
      job.error && el('span', { className: 'job-error error' }, job.error),
      this.outputs.get(job.job_id)?.pre,
      this.extra(job),
    );
    const previous = this.rows.get(job.job_id);
    if (previous) previous.replaceWith(row);
    else this.list.prepend(row);
    this.rows.set(job.job_id, row);
    this.empty.hidden = true;
    if (FINAL_STATES.has(job.state)) this.active.delete(job.job_id);
    else this.active.add(job.job_id);
    this.onActiveCount(this.active.size);
  }

  /** Streamed output under the progress bar, the newest line in view. */
  private output(jobId: string, chunks: OutputChunk[]): void {
    let out = this.outputs.get(jobId);
    if (!out) {
      const pre = el('pre', { className: 'job-output', attrs: { tabindex: '0', 'aria-label': 'Job output' } });
      this.outputs.set(jobId, (out = { pre, lines: [], partial: '' }));
      this.rows.get(jobId)?.querySelector('.job-bar')?.after(pre);
    }
    const text = out.partial + chunks.map((c) => c.data).join('');
    const lines = text.split('\n');
    out.partial = lines.pop() ?? '';
    out.lines.push(...lines);
    if (out.lines.length > MAX_LINES) out.lines.splice(0, out.lines.length - MAX_LINES);
    out.pre.textContent = [...out.lines, ...(out.partial ? [out.partial] : [])].join('\n');
    out.pre.scrollTop = out.pre.scrollHeight;
  }

  private extra(job: JobDto): HTMLElement | null {
    if (!FINAL_STATES.has(job.state)) {
      const cancel = el('button', { className: 'job-cancel secondary', attrs: { type: 'button' } }, 'Cancel');
      cancel.onclick = () => api.cancelJob(job.job_id).catch((err: unknown) => (this.error.textContent = humanError(err, 'cancel')));
      return cancel;
    }
    if (job.name !== 'conversation.export' || job.state !== 'completed') return null;
    const count = (job.result as { message_count?: number } | null)?.message_count ?? 0;
    return el('a', { className: 'job-download', attrs: { href: exportDownloadUrl(job.job_id), download: '' } }, `Download (${count} messages)`);
  }
}
