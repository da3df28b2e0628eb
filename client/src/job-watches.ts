import { callSafely } from './emitter.js';
import type { Job, OutputChunk } from './types.js';

export interface JobListener {
  status: (job: Job) => void;
  output?: ((chunks: OutputChunk[]) => void) | undefined;
}

interface Watch {
  /** Acknowledged by the hub at least once, so a reconnect must watch it again. */
  established: boolean;
  lastSeq: number;
  latest: Job | null;
  /** The offset of the next output chunk expected: every earlier one has been handed on. */
  nextOffset: number;
  listeners: Set<JobListener>;
}

/**
 * The jobs this client watches, with the last `seq` and output offset each was given: an
 * update that comes twice (a re-watch after reconnecting answers with the current state
 * and output, which events may already have carried) or late is dropped.
 */
export class JobWatches {
  private readonly watches = new Map<string, Watch>();

  add(jobId: string, listener: JobListener): void {
    let watch = this.watches.get(jobId);
    if (!watch) this.watches.set(jobId, (watch = { established: false, lastSeq: -1, latest: null, nextOffset: 0, listeners: new Set() }));
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
  latest(jobId: string): Job | null {
    return this.watches.get(jobId)?.latest ?? null;
  }

  /** Where output should resume from on a (re)watch. */
  nextOffset(jobId: string): number {
    return this.watches.get(jobId)?.nextOffset ?? 0;
  }

  /** Hands a state to the job's listeners unless its `seq` was already seen. */
  offer(job: Job): boolean {
    const watch = this.watches.get(job.job_id);
    if (!watch || job.seq <= watch.lastSeq) return false;
    watch.lastSeq = job.seq;
    watch.latest = job;
    for (const listener of [...watch.listeners]) callSafely(listener.status, job);
    return true;
  }

  /**
   * Hands on the chunks that continue the output, each offset once. Returns false when a
   * chunk skipped ahead (some were missed), so the caller re-watches from `nextOffset`.
   */
  offerOutput(jobId: string, chunks: OutputChunk[]): boolean {
    const watch = this.watches.get(jobId);
    if (!watch) return true;
    const fresh: OutputChunk[] = [];
    let contiguous = true;
    for (const chunk of [...chunks].sort((a, b) => a.offset - b.offset)) {
      if (chunk.offset < watch.nextOffset) continue;
      if (chunk.offset > watch.nextOffset) {
        contiguous = false;
        break;
      }
      fresh.push(chunk);
      watch.nextOffset = chunk.offset + 1;
    }
    if (fresh.length > 0) for (const listener of [...watch.listeners]) if (listener.output) callSafely(listener.output, fresh);
    return contiguous;
  }
}
