/**
 * Who asks a service to do something: a user id, and what the transport already knows about
 * them. Every service method takes one first (`services.messages.send(caller, input)`); a
 * route passes the session's user, a socket handler its socket's caller.
 */
export interface Caller {
  id: number;
  /** The session (device) the caller acts through; per-session state (delivered markers) is kept under it. */
  sessionId?: number | undefined;
  /** The conversations this caller is already known to be in; without it membership is asked of Postgres each time. */
  memberships?: MembershipCache | undefined;
}

/**
 * A transport's record of a caller's conversations: a socket's rooms, joined at connect and on
 * `conversation:new`. A miss is asked of Postgres before anything is refused, and a confirmed
 * membership is remembered, so the cache heals (for a socket: it joins the room and starts
 * getting that conversation's events).
 */
export interface MembershipCache {
  has(conversationId: number): boolean;
  remember(conversationIds: readonly number[]): void;
}
