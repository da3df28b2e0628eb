import { INT4_MAX } from '../schemas/common.js';

/** The only builders of room names; nothing else spells them. */
export const INBOX_NAMESPACE = '/inbox';

/**
 * `/chat/<id>` with a canonical id only: no sign, no leading zero, at most ten digits. Anything
 * else never becomes a namespace, so `/chat/0001`, `/chat/01` ... cannot mint endless names for
 * one conversation. Ten-digit ids above MAX_CONVERSATION_ID still match, to answer `forbidden`
 * like any conversation the caller is not in (their namespace is dropped again at once).
 */
export const LEGACY_NAMESPACE = /^\/chat\/([1-9][0-9]{0,9})$/;
/** The largest id Postgres stores in the `integer` primary key. */
export const MAX_CONVERSATION_ID = INT4_MAX;

export const userRoom = (userId: number) => `user_${userId}`;
export const chatRoom = (conversationId: number) => `chat_${conversationId}`;
export const jobRoom = (jobId: string) => `job_${jobId}`;
/** The job id of a `job_<id>` room, or null for any other room. */
export const jobIdOfRoom = (room: string) => (room.startsWith('job_') ? room.slice('job_'.length) : null);
/** Every socket opened with one session, so logout can disconnect them on every pod. */
export const sessionRoom = (sessionId: number) => `session_${sessionId}`;
export const legacyNamespace = (conversationId: number) => `/chat/${conversationId}`;
