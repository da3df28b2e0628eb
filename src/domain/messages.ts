import type { Sql } from '../db/client.js';
import * as messagesRepo from '../db/repositories/messages.js';
import type { MessageRecord } from '../db/repositories/messages.js';
import { forbidden, AppError } from '../errors.js';
import type { MessageType } from '../schemas/common.js';
import type { MessageDto } from '../schemas/objects.js';
import { MessageWriter } from './message-writer.js';

export type { MessageDto };

export function toMessageDto(r: MessageRecord): MessageDto {
  return {
    id: r.id,
    conversation_id: r.conversation_id,
    seq: r.seq,
    sender_id: String(r.sender_id),
    sender_name: r.sender_name,
    sender_avatar: r.sender_avatar,
    message: r.body,
    type: r.type,
    created_at: r.created_at.toISOString(),
    message_id: r.id,
    client_msg_id: r.client_msg_id,
  };
}

export interface SendMessage {
  conversationId: number;
  senderId: number;
  text: string;
  type: MessageType;
  clientMsgId: string | null;
}

/** Length in characters as a person counts them (code points), not UTF-16 units. */
export const characterCount = (text: string) => {
  let n = 0;
  for (const _ of text) n++;
  return n;
};

export function assertLength(text: string, max: number): void {
  if (text.length > max && characterCount(text) > max) {
    throw new AppError('too_large', `message is longer than ${max} characters`);
  }
}

const writers = new WeakMap<Sql, MessageWriter>();

/** One group-commit writer per pool, made on first use; it holds no timers, so nothing to close. */
function writerFor(sql: Sql): MessageWriter {
  let writer = writers.get(sql);
  if (!writer) {
    writer = new MessageWriter(sql);
    writers.set(sql, writer);
  }
  return writer;
}

/**
 * Stores a message from a member (the caller checked membership). `fresh` is false for
 * a retried `client_msg_id`: the first stored copy comes back and must not be broadcast again.
 * `onFresh` runs right after the commit, in seq order per conversation, for a new message
 * only: that is where to broadcast, so broadcasts leave in seq order and before the ack.
 */
export async function storeMessage(sql: Sql, m: SendMessage, onFresh?: (message: MessageDto) => void): Promise<{ message: MessageDto; fresh: boolean }> {
  let fresh: MessageDto | null = null;
  const outcome = await writerFor(sql).write(
    { conversationId: m.conversationId, senderId: m.senderId, body: m.text, type: m.type, clientMsgId: m.clientMsgId },
    (stored) => {
      if (stored.status !== 'stored') return;
      fresh = toMessageDto(stored.record);
      onFresh?.(fresh);
    },
  );
  if (outcome.status === 'no_conversation') throw forbidden('Not a member of that conversation');
  return fresh ? { message: fresh, fresh: true } : { message: toMessageDto(outcome.record), fresh: false };
}

/** A page of history: the latest `limit` below `beforeSeq`, in ascending seq. */
export async function history(sql: Sql, conversationId: number, beforeSeq: number | null, limit: number) {
  const rows = await messagesRepo.listBefore(sql, conversationId, beforeSeq, limit);
  const page = rows.slice(0, limit).reverse();
  return { messages: page.map(toMessageDto), has_more: rows.length > limit };
}

/** What a client missed after its cursors, bounded by `limit`, oldest first. */
export async function missedSince(
  sql: Sql,
  userId: number,
  cursors: ReadonlyArray<readonly [number, number]>,
  limit: number,
) {
  if (cursors.length === 0) return { messages: [], has_more: false };
  const rows = await messagesRepo.listAfterCursors(sql, userId, cursors, limit);
  return { messages: rows.slice(0, limit).map(toMessageDto), has_more: rows.length > limit };
}
