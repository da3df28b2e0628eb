import type { Conversation, ErrorBody, Job, Message, MessageType, Notice, OutputChunk, User } from './types.js';

/** Every acknowledgement: `{ok: true, ...fields}` or `{ok: false, error}`. */
export type Ack<T extends object = object> = ({ ok: true } & T) | { ok: false; error: ErrorBody };
export type AckCallback<T extends object = object> = (ack: Ack<T>) => void;

export interface SendMessagePayload {
  conversation_id: number;
  message: string;
  type: MessageType;
  /** 1..64 characters; a repeated id returns the first stored message, never a second one. */
  client_msg_id?: string;
}

export interface SyncPayload {
  /** The last `seq` seen per conversation id. */
  cursors: Record<string, number>;
  limit?: number;
}

export interface SyncResult {
  messages: Message[];
  has_more: boolean;
  conversation_ids: number[];
}

export interface MarkerPayload {
  conversation_id: number;
  seq: number;
}

export interface JobWatchPayload {
  job_id: string;
  /** Output chunks with `offset >= output_from` come in the ack; none when absent. */
  output_from?: number;
}

export interface JobWatchResult {
  job: Job;
  output: OutputChunk[];
  output_has_more: boolean;
}

/** What the hub sends on connect: who the user is and a snapshot to start from. */
export interface ReadyPayload {
  user: User;
  conversation_ids: number[];
  /** The 100 conversations with the most recent activity. */
  conversations: Conversation[];
  /** The user's peers online now (never the user). */
  online_user_ids: number[];
  unread_notices: number;
}

export interface TypingEvent {
  conversation_id: number;
  user_id: number;
}

export interface MarkerEvent {
  conversation_id: number;
  user_id: number;
  seq: number;
}

export interface PresenceEvent {
  user_id: number;
  online: boolean;
  last_seen_at: string | null;
}

export interface JobOutputEvent {
  job_id: string;
  chunks: OutputChunk[];
}

/** The `/inbox` namespace, client to server. */
export interface ClientToServerEvents {
  message: (payload: SendMessagePayload, ack: AckCallback<{ message: Message }>) => void;
  sync: (payload: SyncPayload, ack: AckCallback<SyncResult>) => void;
  typing: (payload: { conversation_id: number }, ack: AckCallback) => void;
  read: (payload: MarkerPayload, ack: AckCallback) => void;
  delivered: (payload: MarkerPayload, ack: AckCallback) => void;
  'job:watch': (payload: JobWatchPayload, ack: AckCallback<JobWatchResult>) => void;
  'job:unwatch': (payload: { job_id: string }, ack: AckCallback) => void;
}

/** The `/inbox` namespace, server to client. */
export interface ServerToClientEvents {
  ready: (payload: ReadyPayload) => void;
  message: (message: Message) => void;
  'conversation:new': (payload: { conversation: Conversation }) => void;
  typing: (payload: TypingEvent) => void;
  read: (payload: MarkerEvent) => void;
  delivered: (payload: MarkerEvent) => void;
  presence: (payload: PresenceEvent) => void;
  resync: (payload: { conversation_ids: number[] }) => void;
  'job:status': (job: Job) => void;
  'job:output': (payload: JobOutputEvent) => void;
  'notice:new': (payload: { notice: Notice }) => void;
}
