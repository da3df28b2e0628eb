import { z } from 'zod';
import { idNumber, INT4_MAX } from './common.js';
import { avatarUrl, displayName } from './profile.js';
import { pgText } from './text.js';

const email = z.email('must be a valid email address').max(254);
/**
 * Path and query values arrive as strings; only they are converted, never JSON bodies,
 * and only plain decimal digits count (no "0x10", "1e3" or " 7").
 */
const intFromString = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,10}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
const idFromString = intFromString(1, INT4_MAX);

export const registerBody = z.object({
  email,
  password: z.string().min(8, 'must be at least 8 characters').max(1024),
  name: displayName(),
  avatar_url: avatarUrl().nullable().optional(),
});

export const changePasswordBody = z.object({
  current_password: z.string().min(1).max(1024),
  new_password: z.string().min(8, 'must be at least 8 characters').max(1024),
});

// The registration rule (ASCII only): a Unicode spelling such as "İ" could otherwise fold to
// the same account in Postgres's lower() but not in the limiter's key.
export const loginBody = z.object({
  email,
  password: z.string().min(1).max(1024),
});

export const createConversationBody = z.object({
  client_id: idNumber(),
  worker_id: idNumber(),
});

export const idParams = z.object({ id: idFromString });

export const historyQuery = z.object({
  before_seq: idFromString.optional(),
  limit: intFromString(1, 100).default(50),
});

export const createJobBody = z.object({
  name: z.string().min(1).max(100),
  data: z.unknown().optional(),
});

export const jobIdParams = z.object({ id: pgText().min(1).max(100) });

export const listJobsQuery = z.object({
  limit: intFromString(1, 500).default(100),
});

export const listNoticesQuery = z.object({
  before_id: intFromString(1, Number.MAX_SAFE_INTEGER).optional(),
  limit: intFromString(1, 100).default(50),
});

export const readNoticesBody = z.object({
  up_to_id: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
});
