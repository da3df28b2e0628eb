import { mkdir, open, rename, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UnrecoverableError } from 'bullmq';
import { defineProcessor, type ProcessorContext } from '../processor.js';

const BATCH_SIZE = 500;
const LINE_EVERY = 1000;

/**
 * Writes a conversation's messages as JSON lines (one contract `message` per line), batch by
 * batch, up to the last message stored when the export started, so the file is a consistent cut.
 * It is written under a temporary name and renamed at the end: a path in a result is always complete.
 */
export default defineProcessor('conversation.export', async (job, ctx) => {
  const conversationId = job.data.conversation_id;
  const exports = ctx.services.conversationExport;
  // Checked at enqueue too, but membership can end while the job waits.
  if (!(await exports.mayExport(job.ownerId, conversationId))) {
    throw new UnrecoverableError('the owner is not a member of this conversation');
  }
  const lastSeq = await exports.lastSeq(conversationId);
  await mkdir(ctx.config.EXPORT_DIR, { recursive: true });
  const path = resolve(ctx.config.EXPORT_DIR, `conversation-${conversationId}-${job.id}.jsonl`);
  const partial = `${path}.partial`;
  try {
    const messageCount = await writeMessages(ctx, partial, conversationId, lastSeq);
    await rename(partial, path);
    return { message_count: messageCount, path };
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }
});

async function writeMessages(ctx: ProcessorContext, file: string, conversationId: number, lastSeq: number): Promise<number> {
  const out = await open(file, 'w');
  let count = 0;
  try {
    for (let after = 0; after < lastSeq; ) {
      ctx.signal.throwIfAborted();
      const batch = await nextBatch(ctx, conversationId, after, lastSeq);
      if (batch.length === 0) break;
      await out.write(batch.map((m) => `${JSON.stringify(m)}\n`).join(''));
      const before = count;
      count += batch.length;
      after = batch.at(-1)!.seq;
      // One output line per 1,000 messages written.
      for (let mark = (Math.floor(before / LINE_EVERY) + 1) * LINE_EVERY; mark <= count; mark += LINE_EVERY) {
        await ctx.output(`${mark} messages written\n`);
      }
      await ctx.progress(Math.round((100 * after) / lastSeq), `${count} messages written`);
    }
  } finally {
    await out.close();
  }
  return count;
}

async function nextBatch(ctx: ProcessorContext, conversationId: number, after: number, lastSeq: number) {
  const batch = await ctx.services.conversationExport.batchAfter(conversationId, after, BATCH_SIZE);
  return batch.filter((m) => m.seq <= lastSeq);
}
