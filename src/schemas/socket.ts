import { z } from 'zod';
import { idNumber, messageType, seqNumber } from './common.js';
import { conversationSchema, jobSchema, messageSchema, userSchema } from './objects.js';
import { pgText } from './text.js';

/** `message` on /inbox; the length limit is checked apart so it can answer `too_large`. */
export const sendMessagePayload = z.object({
  conversation_id: idNumber(),
  message: pgText().min(1, 'must not be empty'),
  type: messageType,
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
    .pipe(z.record(z.string().regex(CURSOR_KEY, 'keys must be conversation ids'), seqNumber()))
    .refine((c) => Object.keys(c).length <= SYNC_MAX_CURSORS, `at most ${SYNC_MAX_CURSORS} cursors`),
  limit: z.number().int().min(1).max(SYNC_MAX_LIMIT).optional(),
});

export const conversationPayload = z.object({ conversation_id: idNumber() });
export const readPayload = z.object({ conversation_id: idNumber(), seq: seqNumber() });
/** `delivered`: this device (session) has received every message of the conversation up to `seq`. */
export const deliveredPayload = z.object({ conversation_id: idNumber(), seq: seqNumber() });
export const jobPayload = z.object({ job_id: pgText().min(1).max(100) });

// What the hub sends: the success fields of the acks, and the server-to-client events. The hub
// builds these itself (nothing parses them at runtime); they type src/realtime/protocol.ts and
// describe the events in the AsyncAPI document.
export const messageResult = z.object({ message: messageSchema });
export const syncResult = z.object({ messages: z.array(messageSchema), has_more: z.boolean(), conversation_ids: z.array(z.number().int()) });
export const jobWatchResult = z.object({ job: jobSchema });

/**
 * `ready`, once per connection, read after the socket joined its rooms: one schema, built by one
 * function (src/realtime/inbox/ready.ts); a field added here is added there.
 */
export const readyEvent = z.object({
  user: userSchema,
  /** Every conversation of the user, ascending. */
  conversation_ids: z.array(z.number().int()),
  /** The 100 most recently active, most recent first, as GET /api/conversations gives them. */
  conversations: z.array(conversationSchema),
});
export const conversationNewEvent = z.object({ conversation: conversationSchema });
export const typingEvent = z.object({ conversation_id: z.number().int(), user_id: z.number().int() });
export const readEvent = z.object({ conversation_id: z.number().int(), user_id: z.number().int(), seq: z.number().int() });
/**
 * Messages of these conversations were held back from this socket while it was a slow consumer
 * (src/realtime/slow-consumer.ts); `sync` gives them. One per slow spell, once it has drained.
 */
export const resyncEvent = z.object({ conversation_ids: z.array(z.number().int()) });
/** A user's delivered marker (the highest over their sessions) moved forward. */
export const deliveredEvent = z.object({ conversation_id: z.number().int(), user_id: z.number().int(), seq: z.number().int() });
