import { z } from 'zod';
import { jobState, messageType } from './common.js';

/**
 * The contract's objects: these schemas serialize HTTP replies (extra keys are dropped) and
 * document the socket protocol, and the types below are derived from them, so the hub, its
 * event maps (src/realtime/protocol.ts) and the docs share one definition.
 */
export const userSchema = z.object({
  id: z.number().int(),
  email: z.string(),
  name: z.string(),
  avatar_url: z.string().nullable(),
});

/** Any user as others see them: no email (only its owner ever sees that). */
export const peerSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  avatar_url: z.string().nullable(),
});

export const messageSchema = z.object({
  id: z.number().int(),
  conversation_id: z.number().int(),
  seq: z.number().int(),
  sender_id: z.string(),
  sender_name: z.string(),
  sender_avatar: z.string().nullable(),
  message: z.string(),
  type: messageType,
  created_at: z.string(),
  message_id: z.number().int(),
  client_msg_id: z.string().nullable(),
});

export const conversationSchema = z.object({
  id: z.number().int(),
  client: peerSchema,
  worker: peerSchema,
  created_at: z.string(),
  last_message: messageSchema.nullable(),
  unread_count: z.number().int(),
  /** The highest stored seq (0 when empty). */
  last_seq: z.number().int(),
  /** The viewer's read marker. */
  read_seq: z.number().int(),
  /** The other member's read marker. */
  peer_read_seq: z.number().int(),
  /** The other member's delivered marker: the highest over their sessions, never below their read marker. */
  peer_delivered_seq: z.number().int(),
});

export const jobSchema = z.object({
  job_id: z.string(),
  name: z.string(),
  state: jobState,
  progress: z.number(),
  status_text: z.string().nullable(),
  result: z.unknown().nullable(),
  error: z.string().nullable(),
  attempts_made: z.number().int(),
  created_at: z.string(),
  updated_at: z.string(),
  seq: z.number().int(),
});

/** One piece of a job's output: offsets 0, 1, 2, ... per job, no gaps; at most 4,096 characters of data. */
export const outputChunkSchema = z.object({
  offset: z.number().int(),
  data: z.string(),
});

export const noticeKind = z.enum(['job.completed', 'job.failed', 'job.cancelled']);

/** Told to a job's owner when it ended while none of their sockets watched it. */
export const noticeSchema = z.object({
  id: z.number().int(),
  kind: noticeKind,
  job_id: z.string(),
  title: z.string(),
  created_at: z.string(),
  read_at: z.string().nullable(),
});

/** The contract's `user` object: the caller themself, the only one who ever sees their email. */
export type UserDto = z.output<typeof userSchema>;
/** The contract's `peer` object: any user as others see them, never with an email. */
export type PeerDto = z.output<typeof peerSchema>;
/** A message exactly as the existing frontend reads it, plus `seq` and `client_msg_id`. */
export type MessageDto = z.output<typeof messageSchema>;
/**
 * The contract's `conversation` object, as seen by one of its members. Both members are
 * peers (no email): it is also emitted to the other member, and a conversation can be opened
 * with anyone, so an email here would let any user list every account's email.
 */
export type ConversationDto = z.output<typeof conversationSchema>;
/** The contract's `job` object: exactly these keys. */
export type JobDto = z.output<typeof jobSchema>;
export type OutputChunkDto = z.output<typeof outputChunkSchema>;
export type NoticeDto = z.output<typeof noticeSchema>;
export type NoticeKind = z.output<typeof noticeKind>;
