/** The only builders of room names; nothing else spells them. */
export const INBOX_NAMESPACE = '/inbox';
export const LEGACY_NAMESPACE = /^\/chat\/(\d+)$/;

export const userRoom = (userId: number) => `user_${userId}`;
export const chatRoom = (conversationId: number) => `chat_${conversationId}`;
export const jobRoom = (jobId: string) => `job_${jobId}`;
/** Every socket opened with one session, so logout can disconnect them on every pod. */
export const sessionRoom = (sessionId: number) => `session_${sessionId}`;
export const legacyNamespace = (conversationId: number) => `/chat/${conversationId}`;
