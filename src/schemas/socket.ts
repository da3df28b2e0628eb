import { z } from 'zod';
import { idNumber, messageType, seqNumber } from './common.js';
import { conversationSchema, jobSchema, messageSchema, noticeSchema, outputChunkSchema, userSchema } from './objects.js';
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
/** `job:watch`: `output_from` asks for the stored output from that offset in the ack. */
export const jobWatchPayload = jobPayload.extend({ output_from: z.number().int().min(0).optional() });
/** The most output chunks one `job:watch` ack carries; `output_has_more` says when there are more. */
export const WATCH_OUTPUT_LIMIT = 500;

// What the hub sends: the success fields of the acks, and the server-to-client events. The hub
// builds these itself (nothing parses them at runtime); they type src/realtime/protocol.ts and
// describe the events in the AsyncAPI document.
export const messageResult = z.object({ message: messageSchema });
export const syncResult = z.object({ messages: z.array(messageSchema), has_more: z.boolean(), conversation_ids: z.array(z.number().int()) });
export const jobWatchResult = z.object({
  job: jobSchema,
  /** Stored chunks with `offset >= output_from`, ascending, at most WATCH_OUTPUT_LIMIT; none without output_from. */
  output: z.array(outputChunkSchema),
  output_has_more: z.boolean(),
});

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
  /** The user's notices with `read_at` null. */
  unread_notices: z.number().int(),
  /** The user's peers (sharing a conversation) online now, ascending; never the user; a peer inside the grace period counts. */
  online_user_ids: z.array(z.number().int()),
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
/** New output of a watched job, in offset order (batched: at most 20 per second per job). */
export const jobOutputEvent = z.object({ job_id: z.string(), chunks: z.array(outputChunkSchema) });
export const noticeNewEvent = z.object({ notice: noticeSchema });
/**
 * A peer's first socket connected (`online: true`, `last_seen_at: null`), or their last one has
 * been gone for PRESENCE_GRACE_MS (`online: false`, `last_seen_at` when it left).
 */
export const presenceEvent = z.object({ user_id: z.number().int(), online: z.boolean(), last_seen_at: z.string().nullable() });
