import { z } from 'zod';
import { pgText } from './text.js';

const conversationId = z.number().int().min(1).max(2_147_483_647);
const seq = z.number().int().min(0).max(2_147_483_647);

/** `message` on /inbox; the length limit is checked apart so it can answer `too_large`. */
export const sendMessagePayload = z.object({
  conversation_id: conversationId,
  message: pgText().min(1, 'must not be empty'),
  type: z.enum(['TEXT', 'IMAGE', 'FILE']),
  client_msg_id: pgText().min(1).max(64).optional(),
});

/** `message` on the legacy /chat/<id> namespace: the conversation is the namespace. */
export const legacyMessagePayload = sendMessagePayload.omit({ conversation_id: true });

export const SYNC_MAX_LIMIT = 500;
export const SYNC_MAX_CURSORS = 1000;

const CURSOR_KEY = /^[1-9]\d{0,9}$/;
// Checked on the raw object: zod's record quietly drops keys like "__proto__", and a
// payload carrying one is malformed, not empty.
const onlyIdKeys = (raw: unknown) => typeof raw !== 'object' || raw === null || Object.keys(raw).every((k) => CURSOR_KEY.test(k));

export const syncPayload = z.object({
  cursors: z
    .unknown()
    .refine(onlyIdKeys, 'keys must be conversation ids')
    .pipe(z.record(z.string().regex(CURSOR_KEY, 'keys must be conversation ids'), seq))
    .refine((c) => Object.keys(c).length <= SYNC_MAX_CURSORS, `at most ${SYNC_MAX_CURSORS} cursors`),
  limit: z.number().int().min(1).max(SYNC_MAX_LIMIT).optional(),
});

export const conversationPayload = z.object({ conversation_id: conversationId });
export const readPayload = z.object({ conversation_id: conversationId, seq });
export const jobPayload = z.object({ job_id: pgText().min(1).max(100) });
