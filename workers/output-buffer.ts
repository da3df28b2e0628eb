import { toChunks, type JobOutputStore } from '../src/domain/job-output.js';

/** At most one store-and-emit per job this often: watchers get at most 20 `job:output` events per second per job. */
export const OUTPUT_FLUSH_MS = 50;
/** Chunks held before `write` waits for a flush: memory stays bounded when a job writes faster than Postgres stores. */
export const OUTPUT_PENDING_MAX = 2000;

export interface OutputBufferOptions {
  flushMs?: number;
  pendingMax?: number;
  onError?: (err: unknown, dropped: number) => void;
}

/**
 * One attempt's output: writes collect here and are stored as one batch (one statement, one
 * `job:output`) at most every `flushMs`, the first write after a quiet period on the next
 * tick (so a burst of writes in one tick is one batch). A flush runs alone: the next waits for the previous one and then for the rest
 * of its interval, so offsets are stored and emitted in order. `close` flushes what is left.
 */
export class OutputBuffer {
  private pending: string[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private lastFlushAt = 0;
  private closed = false;
  private readonly flushMs: number;
  private readonly pendingMax: number;

  constructor(
    private readonly store: Pick<JobOutputStore, 'append'>,
    private readonly jobId: string,
    private readonly options: OutputBufferOptions = {},
  ) {
    this.flushMs = options.flushMs ?? OUTPUT_FLUSH_MS;
    this.pendingMax = options.pendingMax ?? OUTPUT_PENDING_MAX;
  }

  /** Buffers one write (as many chunks as its length needs); resolves at once unless too much is pending. */
  async write(text: string): Promise<void> {
    if (this.closed) return;
    const chunks = toChunks(String(text));
    if (chunks.length === 0) return;
    this.pending.push(...chunks);
    this.schedule();
    while (this.pending.length >= this.pendingMax && !this.closed) await this.flushNow();
  }

  /** Stores and emits everything written so far; no later write is kept. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    while (this.flushing || this.pending.length > 0) await this.flushNow();
  }

  private schedule(): void {
    if (this.timer || this.flushing) return;
    const wait = Math.max(0, this.lastFlushAt + this.flushMs - performance.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flushNow();
    }, wait);
  }

  private async flushNow(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (;;) {
      if (this.flushing) return this.flushing;
      const wait = this.lastFlushAt + this.flushMs - performance.now();
      if (wait <= 0) break;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    this.lastFlushAt = performance.now();
    this.flushing = this.store
      .append(this.jobId, batch)
      .then(
        () => undefined,
        (err: unknown) => this.options.onError?.(err, batch.length),
      )
      .finally(() => {
        // Spaced from the end of this flush (its emit), so emits, not only stores, are OUTPUT_FLUSH_MS apart.
        this.lastFlushAt = performance.now();
        this.flushing = null;
        if (this.pending.length > 0 && !this.closed) this.schedule();
      });
    return this.flushing;
  }
}
