import type { Sql } from '../db/client.js';
import * as conversationsRepo from '../db/repositories/conversations.js';
import type { ConversationView } from '../db/repositories/conversations.js';
import * as readMarkersRepo from '../db/repositories/read-markers.js';
import * as usersRepo from '../db/repositories/users.js';
import { forbidden, invalidPayload, notFound } from '../errors.js';
import type { ConversationDto, MessageDto } from '../schemas/objects.js';
import type { Caller } from './caller.js';
import type { ConversationPublisher } from './ports.js';

export type { ConversationDto };

function toConversationDto(v: ConversationView): ConversationDto {
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
 * Given by the transport (the HTTP route counts it in Redis, shared by every pod).
 */
export type NewConversationQuota = (callerId: number) => Promise<void>;

/** Conversations, their membership, and what members tell each other besides messages. */
export class ConversationService {
  constructor(
    private readonly sql: Sql,
    private readonly publisher: ConversationPublisher,
  ) {}

  /**
   * Opens (or returns) the pair's conversation; only one of the two may ask. Only a pair
   * without a conversation is charged to the quota: asking again for an existing one is free.
   * A new one is published: both members' live sockets join it and are told.
   */
  async open(
    caller: Caller,
    pair: { client_id: number; worker_id: number },
    quota: NewConversationQuota,
  ): Promise<{ conversation: ConversationDto; created: boolean }> {
    if (caller.id !== pair.client_id && caller.id !== pair.worker_id) {
      throw forbidden('You can only open a conversation you are part of');
    }
    if (pair.client_id === pair.worker_id) throw invalidPayload('client_id and worker_id must be two different users');
    if ((await usersRepo.countUsersById(this.sql, [pair.client_id, pair.worker_id])) !== 2) throw notFound('User');
    const existing = await conversationsRepo.findPairId(this.sql, pair.client_id, pair.worker_id);
    if (existing === null) await quota(caller.id);
    const { id, created } = existing === null
      ? await conversationsRepo.insertOrGetPair(this.sql, pair.client_id, pair.worker_id)
      : { id: existing, created: false };
    const view = await conversationsRepo.findView(this.sql, id, caller.id);
    const conversation = toConversationDto(view!);
    if (created) this.publisher.conversationCreated(conversation);
    return { conversation, created };
  }

  /** The caller's conversations, most recent activity first. */
  async list(caller: Caller): Promise<ConversationDto[]> {
    const views = await conversationsRepo.listViewsForUser(this.sql, caller.id);
    return views.map(toConversationDto);
  }

  /** Ids of every conversation the user is in, ascending. */
  idsOf(userId: number): Promise<number[]> {
    return conversationsRepo.listIdsForUser(this.sql, userId);
  }

  isMember(userId: number, conversationId: number): Promise<boolean> {
    return conversationsRepo.isMember(this.sql, conversationId, userId);
  }

  /**
   * Membership for an act in the conversation (`forbidden` otherwise): the caller's membership
   * cache first, then Postgres, whose yes is remembered.
   */
  async assertMember(caller: Caller, conversationId: number): Promise<void> {
    if (caller.memberships?.has(conversationId)) return;
    if (!(await this.isMember(caller.id, conversationId))) throw forbidden('Not a member of that conversation');
    caller.memberships?.remember([conversationId]);
  }

  /** Membership for reading over HTTP: `not_found`, so a conversation's existence is not revealed. */
  async assertVisible(caller: Caller, conversationId: number): Promise<void> {
    if (!(await this.isMember(caller.id, conversationId))) throw notFound('Conversation');
  }

  /** Ephemeral: not stored, relayed to the other member's sockets only. */
  async typing(caller: Caller, input: { conversation_id: number }): Promise<void> {
    await this.assertMember(caller, input.conversation_id);
    this.publisher.typing(input.conversation_id, caller.id);
  }

  /** Stores the read marker (only forward, never past the last message), then tells the conversation where it now stands. */
  async markRead(caller: Caller, input: { conversation_id: number; seq: number }): Promise<void> {
    const stored = await readMarkersRepo.advanceReadMarker(this.sql, caller.id, input.conversation_id, input.seq);
    if (stored === null) throw forbidden('Not a member of that conversation');
    this.publisher.read(input.conversation_id, caller.id, stored);
  }
}
