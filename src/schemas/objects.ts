import { z } from 'zod';

/** Zod mirrors of the contract's objects, used to serialize HTTP replies (extra keys are dropped). */
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
  type: z.enum(['TEXT', 'IMAGE', 'FILE']),
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
});

export const jobSchema = z.object({
  job_id: z.string(),
  name: z.string(),
  state: z.enum(['waiting', 'delayed', 'active', 'completed', 'failed', 'cancelled']),
  progress: z.number(),
  status_text: z.string().nullable(),
  result: z.unknown().nullable(),
  error: z.string().nullable(),
  attempts_made: z.number().int(),
  created_at: z.string(),
  updated_at: z.string(),
  seq: z.number().int(),
});

export const errorReplySchema = z.object({
  error: z.object({ code: z.string(), message: z.string() }),
});
