import type { InboxClient } from './inbox-client.js';
import type { JobWatch } from './options.js';
import type { Job } from './types.js';

export interface JobSnapshot {
  /** Null until the first state arrives. */
  job: Job | null;
  /** All output so far, in order. */
  output: string;
  /** The output split into lines (a last line without its newline included). */
  lines: string[];
  error: string | null;
}

type Listener = () => void;

/** One job, watched on the hub while at least one subscriber is there. */
export class JobView {
  private snapshot: JobSnapshot = { job: null, output: '', lines: [], error: null };
  private readonly listeners = new Set<Listener>();
  private watch: Promise<JobWatch | null> | null = null;

  constructor(
    private readonly client: InboxClient,
    readonly jobId: string,
  ) {}

  readonly subscribe = (listener: Listener): (() => void) => {
    this.listeners.add(listener);
    this.watch ??= this.start();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size > 0 || !this.watch) return;
      const watch = this.watch;
      this.watch = null;
      void watch.then((w) => w?.unwatch());
    };
  };

  readonly getSnapshot = (): JobSnapshot => this.snapshot;

  private start(): Promise<JobWatch | null> {
    // A new watch replays the output from its first chunk.
    this.snapshot = { ...this.snapshot, output: '', lines: [], error: null };
    return this.client
      .watchJob(this.jobId, {
        onStatus: (job) => this.publish({ job }),
        onOutput: (chunks) => {
          const output = this.snapshot.output + chunks.map((c) => c.data).join('');
          this.publish({ output, lines: splitLines(output) });
        },
      })
      .catch((err: Error) => {
        this.publish({ error: err.message });
        this.watch = null;
        return null;
      });
  }

  private publish(patch: Partial<JobSnapshot>): void {
    this.snapshot = { ...this.snapshot, ...patch };
    for (const listener of [...this.listeners]) listener();
  }
}

function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}
