import { setTimeout as sleep } from 'node:timers/promises';
import type { Sql } from '../db/client.js';
import * as outputRepo from '../db/repositories/job-output.js';
import { isStorageUnavailable } from '../errors.js';
import type { OutputChunkDto } from '../schemas/objects.js';
import type { JobStatusPublisher } from './ports.js';

/** The most characters of `data` in one chunk; longer writes become several chunks. */
export const CHUNK_MAX_CHARS = 4096;

/**
 * One write as chunks of at most CHUNK_MAX_CHARS characters (UTF-16 units), never splitting a
 * surrogate pair. NUL, which Postgres text cannot hold, becomes U+FFFD. An empty write is no chunk.
 */
export function toChunks(text: string): string[] {
  const clean = text.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFD') : text;
  const out: string[] = [];
  for (let at = 0; at < clean.length; ) {
    let end = Math.min(clean.length, at + CHUNK_MAX_CHARS);
    const last = clean.charCodeAt(end - 1);
    if (end < clean.length && last >= 0xd800 && last <= 0xdbff) end -= 1;
    out.push(clean.slice(at, end));
    at = end;
  }
  return out;
}

const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 2000;

/**
 * A job's output: store a batch (one statement, offsets from `jobs.output_count`), then
 * publish it as one `job:output`. Workers batch writes (workers/output-buffer.ts); hubs read.
 */
export class JobOutputStore {
  constructor(
    private readonly sql: Sql,
    private readonly publisher: Pick<JobStatusPublisher, 'jobOutput'>,
    private readonly options: { retryForMs?: number } = {},
  ) {}

  /**
   * Stores the chunks, retrying through a Postgres restart (like status writes), then emits
   * them. An error after the commit (a connection dropped mid-reply) retried could store a
   * batch twice, at new offsets: offsets stay gapless, the text repeats.
   */
  async append(jobId: string, data: readonly string[]): Promise<OutputChunkDto[]> {
    if (data.length === 0) return [];
    const deadline = performance.now() + (this.options.retryForMs ?? 0);
    for (let backoff = FIRST_BACKOFF_MS; ; backoff = Math.min(MAX_BACKOFF_MS, backoff * 2)) {
      try {
        const chunks = await outputRepo.appendOutput(this.sql, jobId, data);
        if (chunks.length > 0) this.publisher.jobOutput(jobId, chunks);
        return chunks;
      } catch (err) {
        if (!isStorageUnavailable(err) || performance.now() + backoff > deadline) throw err;
        await sleep(backoff);
      }
    }
  }

  /** Stored chunks from an offset, at most `limit`, and whether more follow. */
  read(jobId: string, from: number, limit: number): Promise<{ chunks: OutputChunkDto[]; hasMore: boolean }> {
    return outputRepo.readOutput(this.sql, jobId, from, limit);
  }
}
