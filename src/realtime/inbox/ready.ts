import type { ReadyPayload } from '../protocol.js';
import type { InboxSocket, RealtimeContext } from '../context.js';

/**
 * The `ready` payload (src/schemas/socket.ts `readyEvent`), the one place it is built. Called
 * after the socket joined its rooms (src/realtime/inbox/connection.ts), so whatever it reads is
 * at least as old as the live stream the socket already gets: a message with a seq above a
 * conversation's `last_seq` here arrives as `message`. Another part of the snapshot is one more
 * read here, in parallel with the others. `online_user_ids` comes from Redis (one HGET per peer),
 * the peers from the snapshot's statement: no further Postgres statement.
 */
export async function readyPayload(ctx: RealtimeContext, socket: InboxSocket): Promise<ReadyPayload> {
  const { user } = socket.data;
  const { ids, conversations, peerIds, unreadNotices } = await ctx.services.conversations.snapshot(user.id);
  // This socket's connect may have made the user online: its peers are known now.
  ctx.presence?.snapshotRead(socket, peerIds);
  // Read after the rooms were joined, like the rest: a change after this arrives as `presence`.
  const online = ctx.presence ? await ctx.presence.onlineAmong(peerIds.filter((id) => id !== user.id)) : [];
  return { user, conversation_ids: ids, conversations, online_user_ids: online, unread_notices: unreadNotices };
}
