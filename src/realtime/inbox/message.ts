import type { FastifyBaseLogger } from 'fastify';
import { assertLength, storeMessage } from '../../domain/messages.js';
import { rateLimited } from '../../errors.js';
import { sendMessagePayload } from '../../schemas/socket.js';
import { withAck } from '../ack.js';
import { ensureMember, type InboxSocket, type RealtimeContext } from '../context.js';

/** Shared by /inbox and the legacy namespace: limit → member → store → broadcast → ack (stored before either). */
export async function sendMessage(
  ctx: RealtimeContext,
  socket: Pick<InboxSocket, 'rooms' | 'join' | 'data'>,
  input: { conversation_id: number; message: string; type: 'TEXT' | 'IMAGE' | 'FILE'; client_msg_id?: string | undefined },
) {
  const user = socket.data.user;
  assertLength(input.message, ctx.config.MAX_MESSAGE_LENGTH);
  if (!(await ctx.messageLimiter.take(user.id))) throw rateLimited('Message rate limit exceeded');
  await ensureMember(ctx, socket, user.id, input.conversation_id);
  // The writer keeps per-conversation order itself (one batch in flight per conversation),
  // so this no longer queues behind ctx.conversationQueue: that allowed one message per
  // round trip per conversation, the writer batches them.
  const { message } = await storeMessage(
    ctx.sql,
    { conversationId: input.conversation_id, senderId: user.id, text: input.message, type: input.type, clientMsgId: input.client_msg_id ?? null },
    (stored) => ctx.broadcaster.message(stored),
  );
  return { message };
}

export const onMessage = (ctx: RealtimeContext, socket: InboxSocket, log: FastifyBaseLogger) =>
  withAck(log, 'message', sendMessagePayload, (p) => sendMessage(ctx, socket, p));
