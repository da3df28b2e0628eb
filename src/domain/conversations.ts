import type { Sql } from '../db/client.js';
import * as conversationsRepo from '../db/repositories/conversations.js';
import type { ConversationView } from '../db/repositories/conversations.js';
import * as usersRepo from '../db/repositories/users.js';
import { forbidden, invalidPayload, notFound } from '../errors.js';
import type { ConversationDto, MessageDto } from '../schemas/objects.js';

export type { ConversationDto };

export function toConversationDto(v: ConversationView): ConversationDto {
  return {
    id: v.id,
    client: { id: v.client_id, name: v.client_name, avatar_url: v.client_avatar },
    worker: { id: v.worker_id, name: v.worker_name, avatar_url: v.worker_avatar },
    created_at: v.created_at.toISOString(),
    last_message: lastMessage(v),
    unread_count: v.unread_count,
  };
}

function lastMessage(v: ConversationView): MessageDto | null {
  if (v.lm_id === null) return null;
  return {
    id: v.lm_id,
    conversation_id: v.id,
    seq: v.lm_seq!,
    sender_id: String(v.lm_sender_id),
    sender_name: v.lm_sender_name!,
    sender_avatar: v.lm_sender_avatar,
    message: v.lm_body!,
    type: v.lm_type!,
    created_at: v.lm_created_at!.toISOString(),
    message_id: v.lm_id,
    client_msg_id: v.lm_client_msg_id,
  };
}

/**
 * Charges the caller for one new conversation; throws `rate_limited` past their allowance.
 * Kept outside the service (it lives in Redis, shared by every pod).
 */
export type NewConversationQuota = (callerId: number) => Promise<void>;

/**
 * Opens (or returns) the pair's conversation; only one of the two may ask. Only a pair
 * without a conversation is charged to the quota: asking again for an existing one is free.
 */
export async function openConversation(
  sql: Sql,
  callerId: number,
  pair: { client_id: number; worker_id: number },
  quota: NewConversationQuota,
): Promise<{ conversation: ConversationDto; created: boolean }> {
  if (callerId !== pair.client_id && callerId !== pair.worker_id) {
    throw forbidden('You can only open a conversation you are part of');
  }
  if (pair.client_id === pair.worker_id) throw invalidPayload('client_id and worker_id must be two different users');
  if ((await usersRepo.countUsersById(sql, [pair.client_id, pair.worker_id])) !== 2) throw notFound('User');
  const existing = await conversationsRepo.findPairId(sql, pair.client_id, pair.worker_id);
  if (existing === null) await quota(callerId);
  const { id, created } = existing === null
    ? await conversationsRepo.insertOrGetPair(sql, pair.client_id, pair.worker_id)
    : { id: existing, created: false };
  const view = await conversationsRepo.findView(sql, id, callerId);
  return { conversation: toConversationDto(view!), created };
}

export async function listConversations(sql: Sql, userId: number): Promise<ConversationDto[]> {
  const views = await conversationsRepo.listViewsForUser(sql, userId);
  return views.map(toConversationDto);
}

/** Throws not_found for a conversation the user is not in: its existence is not revealed. */
export async function assertMember(sql: Sql, conversationId: number, userId: number): Promise<void> {
  if (!(await conversationsRepo.isMember(sql, conversationId, userId))) throw notFound('Conversation');
}

export const conversationIdsOf = conversationsRepo.listIdsForUser;
export const isMember = conversationsRepo.isMember;
