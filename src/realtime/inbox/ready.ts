import type { ReadyPayload } from '../protocol.js';
import type { InboxSocket, RealtimeContext } from '../context.js';

/**
 * The `ready` payload (src/schemas/socket.ts `readyEvent`), the one place it is built. Called
 * after the socket joined its rooms (src/realtime/inbox/connection.ts), so whatever it reads is
 * at least as old as the live stream the socket already gets: a message with a seq above a
 * conversation's `last_seq` here arrives as `message`. Another part of the snapshot is one more
 * read here, in parallel with the others.
 */
export async function readyPayload(ctx: RealtimeContext, socket: InboxSocket): Promise<ReadyPayload> {
  const { user } = socket.data;
  const { ids, conversations, unreadNotices } = await ctx.services.conversations.snapshot(user.id);
  return { user, conversation_ids: ids, conversations, unread_notices: unreadNotices };
}
