import type { JobDto } from '../../src/realtime/protocol.js';
import { clock, type ClientSocket, type JobSamples } from './protocol.js';

/** One `job:status` as a watcher got it: its seq, and the latency if it was a progress update. */
type JobEvent = [seq: number, latencyMs: number | null];

const bump = (counts: Record<string, number>, key: string) => {
  counts[key] = (counts[key] ?? 0) + 1;
};

/** What one agent's sockets saw of the jobs they watch, judged against each watch's snapshot. */
export class JobWatches {
  private watched = 0;
  private readonly watchErrors: Record<string, number> = {};
  /** Per `socket:job`, in arrival order. */
  private readonly events = new Map<string, JobEvent[]>();
  private readonly snapshotSeq = new Map<string, number>();
  completed = 0;

  onStatus(socketIndex: number, job: JobDto): void {
    const now = clock();
    const key = `${socketIndex}:${job.job_id}`;
    // Progress updates only: the first `active` (attempt started) can precede the watch.
    const latency = job.state === 'active' && job.progress > 0 ? now - Date.parse(job.updated_at) : null;
    const list = this.events.get(key);
    if (list) list.push([job.seq, latency]);
    else this.events.set(key, [[job.seq, latency]]);
    if (job.state === 'completed') this.completed++;
  }

  /**
   * `job:watch` from each socket for its jobs. `stepsBefore` counts the demo.steps progress
   * already made when a watch began (the snapshot's `step k/n` status text): those updates
   * went out before the watch.
   */
  async watch(sockets: ClientSocket[], watches: Array<{ socket: number; jobIds: string[] }>, timeoutMs: number) {
    const errors: Record<string, number> = {};
    let watched = 0;
    let stepsBefore = 0;
    await Promise.all(
      watches.flatMap(({ socket, jobIds }) =>
        jobIds.map(async (jobId) => {
          try {
            const ack = await sockets[socket]!.timeout(timeoutMs).emitWithAck('job:watch', { job_id: jobId });
            if (!ack.ok) return bump(errors, ack.error.code);
            watched++;
            this.snapshotSeq.set(`${socket}:${jobId}`, ack.job.seq);
            stepsBefore += Number(/^step (\d+)\//.exec(ack.job.status_text ?? '')?.[1] ?? 0);
          } catch {
            bump(errors, 'ack_timeout');
          }
        }),
      ),
    );
    this.watched += watched;
    for (const [k, n] of Object.entries(errors)) this.watchErrors[k] = (this.watchErrors[k] ?? 0) + n;
    return { watched, errors, stepsBefore };
  }

  /**
   * A change stored while a watch was being set up may arrive before the ack, or after it
   * inside the snapshot: only changes after the snapshot's seq count, in arrival order.
   */
  samples(): JobSamples {
    const latency: number[] = [];
    let nonMonotonic = 0;
    for (const [key, events] of this.events) {
      const snapshot = this.snapshotSeq.get(key) ?? 0;
      let last = snapshot;
      for (const [seq, ms] of events) {
        if (seq <= snapshot) continue;
        if (seq <= last) nonMonotonic++;
        last = Math.max(last, seq);
        if (ms !== null) latency.push(ms);
      }
    }
    return {
      watched: this.watched, watchErrors: { ...this.watchErrors }, updates: latency.length,
      latencyMs: Float64Array.from(latency), nonMonotonic, completed: this.completed,
    };
  }
}
