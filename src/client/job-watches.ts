import type { JobDto } from '../realtime/protocol.js';
import { callSafely } from './emitter.js';

export type JobListener = (job: JobDto) => void;

interface Watch {
  /** Acknowledged by the hub at least once, so a reconnect must watch it again. */
  established: boolean;
  lastSeq: number;
  latest: JobDto | null;
  listeners: Set<JobListener>;
}

/**
 * The jobs this client watches, with the last `seq` each listener was given: an update
 * that comes twice (a re-watch after reconnecting answers with the current state, which
 * a `job:status` may already have carried) or late is dropped.
 */
export class JobWatches {
  private readonly watches = new Map<string, Watch>();

  add(jobId: string, listener: JobListener): void {
    let watch = this.watches.get(jobId);
    if (!watch) this.watches.set(jobId, (watch = { established: false, lastSeq: -1, latest: null, listeners: new Set() }));
    watch.listeners.add(listener);
  }

  /** Removes one listener; true when the job has no listener left (time to `job:unwatch`). */
  remove(jobId: string, listener: JobListener): boolean {
    const watch = this.watches.get(jobId);
    if (!watch) return false;
    watch.listeners.delete(listener);
    if (watch.listeners.size > 0) return false;
    this.watches.delete(jobId);
    return true;
  }

  has(jobId: string): boolean {
    return this.watches.has(jobId);
  }

  markEstablished(jobId: string): void {
    const watch = this.watches.get(jobId);
    if (watch) watch.established = true;
  }

  /** Jobs to watch again on a new connection; the ones still being set up do it themselves. */
  establishedIds(): string[] {
    return [...this.watches].filter(([, w]) => w.established).map(([id]) => id);
  }

  /** The newest state seen, for a listener added after it was dispatched. */
  latest(jobId: string): JobDto | null {
    return this.watches.get(jobId)?.latest ?? null;
  }

  /** Hands a state to the job's listeners unless its `seq` was already seen. */
  offer(job: JobDto): boolean {
    const watch = this.watches.get(job.job_id);
    if (!watch || job.seq <= watch.lastSeq) return false;
    watch.lastSeq = job.seq;
    watch.latest = job;
    for (const listener of [...watch.listeners]) callSafely(listener, job);
    return true;
  }
}
