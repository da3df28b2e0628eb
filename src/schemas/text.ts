import { z } from 'zod';

/**
 * A string Postgres can store: `text` refuses NUL (0x00), which would otherwise surface
 * as a storage error instead of a clear `invalid_payload`.
 */
export const pgText = () => z.string().refine((s) => !s.includes('\u0000'), 'must not contain NUL characters');
