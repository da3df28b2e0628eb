/**
 * The hub's objects as they travel on the wire, written out here so the package carries
 * no server code. The hub's own schemas are compared with these by a test in the hub's
 * repository, so the two cannot drift apart unnoticed.
 */

export type MessageType = 'TEXT' | 'IMAGE' | 'FILE';

/** The signed-in user themself (register, login, `/api/me`, `ready`). */
export interface User {
  id: number;
  email: string;
  name: string;
  avatar_url: string | null;
}

/** Any user as others see them: never their email. */
export interface Peer {
  id: number;
  name: string;
  avatar_url: string | null;
}

/** `seq` counts 1, 2, 3, ... per conversation with no gaps; `sender_id` is a decimal string. */
export interface Message {
  id: number;
  conversation_id: number;
  seq: number;
  sender_id: string;
  sender_name: string;
  sender_avatar: string | null;
  message: string;
  type: MessageType;
  created_at: string;
  message_id: number;
  client_msg_id: string | null;
}

/**
 * A conversation as one of its two members sees it. `last_seq` is the highest stored
 * `seq` (0 when empty), `read_seq` the caller's read marker, `peer_read_seq` and
 * `peer_delivered_seq` the other member's markers.
 */
export interface Conversation {
  id: number;
  client: Peer;
  worker: Peer;
  created_at: string;
  last_message: Message | null;
  unread_count: number;
  last_seq: number;
  read_seq: number;
  peer_read_seq: number;
  peer_delivered_seq: number;
}

export type JobState = 'waiting' | 'delayed' | 'active' | 'completed' | 'failed' | 'cancelled';

/** `seq` grows with every change of the job, so an older state can be told from a newer one. */
export interface Job {
  job_id: string;
  name: string;
  state: JobState;
  progress: number;
  status_text: string | null;
  result: unknown;
  error: string | null;
  attempts_made: number;
  created_at: string;
  updated_at: string;
  seq: number;
}

/** One piece of a job's output; `offset` counts 0, 1, 2, ... per job with no gaps. */
export interface OutputChunk {
  offset: number;
  data: string;
}

export type NoticeKind = 'job.completed' | 'job.failed' | 'job.cancelled';

/** Stored when a job ends while none of the owner's sockets watches it. */
export interface Notice {
  id: number;
  kind: NoticeKind;
  job_id: string;
  title: string;
  created_at: string;
  read_at: string | null;
}

/** The hub's closed set of error codes, over HTTP and in socket acknowledgements. */
export type ErrorCode =
  | 'invalid_payload'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'too_large'
  | 'rate_limited'
  | 'unavailable';

export interface ErrorBody {
  code: ErrorCode;
  message: string;
}
