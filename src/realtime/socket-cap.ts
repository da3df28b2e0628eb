import type { InboxSocket } from './context.js';
import { userRoom } from './rooms.js';

/**
 * Caps one user's live /inbox sockets on this pod, so a runaway client (or a stolen
 * cookie in a loop) cannot exhaust the pod's file descriptors and memory.
 */
export function capSocketsPerUser(max: number) {
  return (socket: InboxSocket, next: (err?: Error) => void) => {
    const live = socket.nsp.adapter.rooms.get(userRoom(socket.data.user.id))?.size ?? 0;
    next(live >= max ? new Error('rate_limited') : undefined);
  };
}
