import type { JobState } from '../db/schema/index.js';

/** The contract's `job` object: exactly these keys. */
export interface JobDto {
  job_id: string;
  name: string;
  state: JobState;
  progress: number;
  status_text: string | null;
  result: unknown;
  error: string | null;
  attempts_made: number;
  created_at: string;
  updated_at: string;
  seq: number;
}
