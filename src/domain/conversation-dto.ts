import type { ConversationView } from '../db/repositories/conversations.js';
import type { ConversationDto, MessageDto } from '../schemas/objects.js';

/** The contract's `conversation` object from a view read for one of its members. */
export function toConversationDto(v: ConversationView): ConversationDto {
  return {
    id: v.id,
    client: { id: v.client_id, name: v.client_name, avatar_url: v.client_avatar },
    worker: { id: v.worker_id, name: v.worker_name, avatar_url: v.worker_avatar },
    created_at: v.created_at.toISOString(),
    last_message: lastMessage(v),
    unread_count: v.unread_count,
    last_seq: v.last_seq,
    read_seq: v.read_seq,
    peer_read_seq: v.peer_read_seq,
    peer_delivered_seq: v.peer_delivered_seq,
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
