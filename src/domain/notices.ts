import type { Sql } from '../db/client.js';
import type { EndNotice } from '../db/repositories/jobs.js';
import * as noticesRepo from '../db/repositories/notices.js';
import type { NoticeRow } from '../db/rows.js';
import type { JobName } from '../queue/catalog.js';
import type { NoticeDto, NoticeKind } from '../schemas/objects.js';
import type { Caller } from './caller.js';

export type { NoticeDto };

export function toNoticeDto(r: NoticeRow): NoticeDto {
  return {
    id: Number(r.id),
    kind: r.kind,
    job_id: r.job_id,
    title: r.title,
    created_at: r.created_at.toISOString(),
    read_at: r.read_at?.toISOString() ?? null,
  };
}

/** What a job is called in a notice's title. */
const SUBJECT: Record<JobName, string> = {
  'conversation.export': 'Export',
  'demo.steps': 'Demo steps',
  'demo.stream': 'Demo stream',
};

const ENDING: Record<NoticeKind, string> = {
  'job.completed': 'finished',
  'job.failed': 'failed',
  'job.cancelled': 'was cancelled',
};

/** The titles of one kind of end per job name ("Export finished", "Demo steps failed", ...). */
export function endNotice(kind: NoticeKind): EndNotice {
  const titles = Object.fromEntries(Object.entries(SUBJECT).map(([name, subject]) => [name, `${subject} ${ENDING[kind]}`]));
  return { kind, titles, fallback: `Job ${ENDING[kind]}` };
}

/** GET /api/notices and POST /api/notices/read: a user's own notices only. */
export class NoticeService {
  constructor(private readonly sql: Sql) {}

  /** Newest first; `beforeId` pages back. */
  async list(caller: Caller, beforeId: number | undefined, limit: number): Promise<{ notices: NoticeDto[]; has_more: boolean }> {
    const { rows, hasMore } = await noticesRepo.listNotices(this.sql, caller.id, beforeId, limit);
    return { notices: rows.map(toNoticeDto), has_more: hasMore };
  }

  /** Every notice of the caller with `id <= upToId` gets `read_at` (those already read keep theirs). */
  async markRead(caller: Caller, upToId: number): Promise<void> {
    await noticesRepo.markNoticesRead(this.sql, caller.id, upToId);
  }
}
