import type { Sql } from '../db/client.js';
import * as conversationsRepo from '../db/repositories/conversations.js';
import * as usersRepo from '../db/repositories/users.js';
import { forbidden, invalidPayload, notFound } from '../errors.js';
import type { ConversationDto } from '../schemas/objects.js';
import type { Caller } from './caller.js';
import { toConversationDto } from './conversation-dto.js';
import type { ConversationPublisher } from './ports.js';

export type { ConversationDto };

/** `ready` carries this many conversations in full: the most recently active. */
export const SNAPSHOT_CONVERSATIONS = 100;

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

  /**
   * What a socket's `ready` carries, read in one statement: every conversation id (ascending)
   * and the SNAPSHOT_CONVERSATIONS most recently active in full, exactly as `list` gives them.
   */
  async snapshot(userId: number): Promise<{ ids: number[]; conversations: ConversationDto[]; peerIds: number[]; unreadNotices: number }> {
    const { ids, views, peerIds, unreadNotices } = await conversationsRepo.snapshotForUser(this.sql, userId, SNAPSHOT_CONVERSATIONS);
    return { ids, conversations: views.map(toConversationDto), peerIds, unreadNotices };
  }

  /** The users sharing a conversation with this one (presence's peers), ascending: one statement. */
  peersOf(userId: number): Promise<number[]> {
    return conversationsRepo.listPeerIds(this.sql, userId);
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
}
