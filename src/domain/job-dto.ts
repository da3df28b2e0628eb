import type { JobRow } from '../db/rows.js';
import type { JobDto } from '../schemas/objects.js';

export type { JobDto };

export function toJobDto(r: JobRow): JobDto {
  return {
    job_id: r.id,
    name: r.name,
    state: r.state,
    progress: r.progress,
    status_text: r.status_text,
    result: r.result ?? null,
    error: r.error,
    attempts_made: r.attempts_made,
    created_at: r.created_at.toISOString(),
    updated_at: r.updated_at.toISOString(),
    seq: r.seq,
  };
}
