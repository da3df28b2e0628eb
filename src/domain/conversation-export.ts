import { resolve, sep } from 'node:path';
import type { Sql } from '../db/client.js';
import * as conversationsRepo from '../db/repositories/conversations.js';
import * as messagesRepo from '../db/repositories/messages.js';
import { notFound } from '../errors.js';
import type { Caller } from './caller.js';
import { ownJob } from './jobs.js';
import { toMessageDto, type MessageDto } from './message-dto.js';

/**
 * The `conversation.export` job's reads (its worker) and the download of its file (the hub):
 * the messages go out as contract messages, and a file is only served from inside EXPORT_DIR.
 */
export class ConversationExport {
  constructor(
    private readonly sql: Sql,
    private readonly exportDir: string,
  ) {}

  /** Membership is checked at enqueue, and again when the job runs: it can end while the job waits. */
  mayExport(ownerId: number, conversationId: number): Promise<boolean> {
    return conversationsRepo.isMember(this.sql, conversationId, ownerId);
  }

  /** The last seq stored now: an export stops there, so its file is a consistent cut. */
  lastSeq(conversationId: number): Promise<number> {
    return conversationsRepo.lastSeq(this.sql, conversationId);
  }

  /** Up to `limit` messages after `afterSeq`, in seq order. */
  async batchAfter(conversationId: number, afterSeq: number, limit: number): Promise<MessageDto[]> {
    return (await messagesRepo.listBatchAfter(this.sql, conversationId, afterSeq, limit)).map(toMessageDto);
  }

  /**
   * The file of the caller's finished `conversation.export` job. The path comes from the
   * job's result, so it is checked to lie inside EXPORT_DIR before anything is read.
   */
  async fileOf(caller: Caller, jobId: string): Promise<string> {
    const job = await ownJob(this.sql, caller.id, jobId);
    const path = (job.result as { path?: unknown } | null)?.path;
    if (job.name !== 'conversation.export' || job.state !== 'completed' || typeof path !== 'string') throw notFound('Export');
    const root = resolve(this.exportDir) + sep;
    const file = resolve(path);
    if (!file.startsWith(root)) throw notFound('Export');
    return file;
  }
}
