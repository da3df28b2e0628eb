import type { MessageRecord } from '../db/repositories/messages.js';
import type { MessageDto } from '../schemas/objects.js';

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
