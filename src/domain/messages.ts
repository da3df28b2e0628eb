import type { Config } from '../config.js';
import type { Sql } from '../db/client.js';
import * as messagesRepo from '../db/repositories/messages.js';
import type { StoredMessageRecord } from '../db/repositories/messages.js';
import { AppError, forbidden, rateLimited } from '../errors.js';
import type { MessageType } from '../schemas/common.js';
import type { Caller } from './caller.js';
import type { ConversationService } from './conversations.js';
import { toMessageDto, type MessageDto } from './message-dto.js';
import { MessageWriter, type WriterOptions } from './message-writer.js';
import type { MessagePublisher } from './ports.js';

export type { MessageDto };

/** A message to send, as every transport takes it (the socket payload's shape). */
export interface SendMessageInput {
  conversation_id: number;
  message: string;
  type: MessageType;
  client_msg_id?: string | undefined;
}

/** Takes one token of a user's message allowance; false past MESSAGE_RATE_LIMIT (src/domain/rate-limiter.ts). */
export interface MessageRateLimit {
  take(userId: number): Promise<boolean>;
}

/** `sync` answers this many messages when the client names no limit. */
export const SYNC_DEFAULT_LIMIT = 100;

/** Length in characters as a person counts them (code points), not UTF-16 units. */
export const characterCount = (text: string) => {
  let n = 0;
  for (const _ of text) n++;
  return n;
};

function assertLength(text: string, max: number): void {
  if (text.length > max && characterCount(text) > max) {
    throw new AppError('too_large', `message is longer than ${max} characters`);
  }
}

/** Sending, paging and catching up on messages, whichever namespace or route asks. */
export class MessageService {
  private readonly writer: MessageWriter;

  constructor(
    private readonly sql: Sql,
    private readonly config: Pick<Config, 'MAX_MESSAGE_LENGTH'>,
    private readonly limiter: MessageRateLimit,
    private readonly conversations: ConversationService,
    publisher: MessagePublisher,
    writerOptions?: WriterOptions,
    /** Told of each newly stored message after it was published (offline notifications); must not throw. */
    private readonly onStored?: (record: StoredMessageRecord) => void,
  ) {
    this.writer = new MessageWriter(sql, publisher, writerOptions);
  }

  /**
   * A member's message: length → rate limit → membership → stored → published → returned (the
   * ack). The writer publishes it right after the commit, in seq order per conversation, before
   * this resolves, so nothing is sent that is not stored and the broadcast leaves before the
   * ack. A retried `client_msg_id` returns the first stored copy and is not published again.
   */
  async send(caller: Caller, input: SendMessageInput): Promise<MessageDto> {
    assertLength(input.message, this.config.MAX_MESSAGE_LENGTH);
    if (!(await this.limiter.take(caller.id))) throw rateLimited('Message rate limit exceeded');
    await this.conversations.assertMember(caller, input.conversation_id);
    const outcome = await this.writer.write({
      conversationId: input.conversation_id,
      senderId: caller.id,
      body: input.message,
      type: input.type,
      clientMsgId: input.client_msg_id ?? null,
    });
    if (outcome.status === 'no_conversation') throw forbidden('Not a member of that conversation');
    if (outcome.status === 'stored') this.onStored?.(outcome.record);
    return toMessageDto(outcome.record);
  }

  /** A page of history for a member: the latest `limit` below `before_seq`, in ascending seq. */
  async history(caller: Caller, conversationId: number, page: { before_seq?: number | undefined; limit: number }) {
    await this.conversations.assertVisible(caller, conversationId);
    const rows = await messagesRepo.listBefore(this.sql, conversationId, page.before_seq ?? null, page.limit);
    const messages = rows.slice(0, page.limit).reverse();
    return { messages: messages.map(toMessageDto), has_more: rows.length > page.limit };
  }

  /**
   * Catch-up after a reconnect or a seq gap: what the caller missed after each cursor, bounded
   * by `limit`, oldest first. It also re-reads the caller's conversations and remembers them
   * (a socket joins the rooms it missed while offline), then checks every cursor's membership.
   */
  async sync(caller: Caller, input: { cursors: Record<string, number>; limit?: number | undefined }) {
    const limit = input.limit ?? SYNC_DEFAULT_LIMIT;
    const conversationIds = await this.conversations.idsOf(caller.id);
    caller.memberships?.remember(conversationIds);
    const member = new Set(conversationIds);
    const cursors = Object.entries(input.cursors).map(([id, seq]) => [Number(id), seq] as const);
    if (cursors.some(([id]) => !member.has(id))) throw forbidden('Not a member of every conversation in cursors');
    if (cursors.length === 0) return { messages: [], has_more: false, conversation_ids: conversationIds };
    const rows = await messagesRepo.listAfterCursors(this.sql, caller.id, cursors, limit);
    return { messages: rows.slice(0, limit).map(toMessageDto), has_more: rows.length > limit, conversation_ids: conversationIds };
  }
}
