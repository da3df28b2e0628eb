/**
 * The wire contract of the `/inbox` and `/chat/<id>` namespaces as the hub implements it,
 * shared by the hub, the workers' emitter and the tests. Frontends use the typed client
 * package (`client/`, `@inbox-hub/client`), which carries its own copy of these types with
 * no server code; test/client/contract-drift.test.ts keeps the two in step.
 */
import type { ConversationDto } from '../domain/conversations.js';
import type { MessageDto } from '../domain/messages.js';
import type { UserDto } from '../domain/users.js';
import type { ErrorBody } from '../errors.js';
import type { JobDto } from '../domain/job-dto.js';

export type { ConversationDto, MessageDto, UserDto, ErrorBody, JobDto };
export type MessageKind = 'TEXT' | 'IMAGE' | 'FILE';

/** Every acknowledgement: `{ok: true, ...fields}` or `{ok: false, error}`. */
export type Ack<T extends object = object> = ({ ok: true } & T) | { ok: false; error: ErrorBody };
export type AckCallback<T extends object = object> = (ack: Ack<T>) => void;

export interface SendMessagePayload {
  conversation_id: number;
  message: string;
  type: MessageKind;
  client_msg_id?: string;
}

export interface SyncPayload {
  cursors: Record<string, number>;
  limit?: number;
}

export interface SyncResult {
  messages: MessageDto[];
  has_more: boolean;
  conversation_ids: number[];
}

export interface ClientToServerEvents {
  message: (payload: SendMessagePayload, ack: AckCallback<{ message: MessageDto }>) => void;
  sync: (payload: SyncPayload, ack: AckCallback<SyncResult>) => void;
  typing: (payload: { conversation_id: number }, ack: AckCallback) => void;
  read: (payload: { conversation_id: number; seq: number }, ack: AckCallback) => void;
  'job:watch': (payload: { job_id: string }, ack: AckCallback<{ job: JobDto }>) => void;
  'job:unwatch': (payload: { job_id: string }, ack: AckCallback) => void;
}

export interface ServerToClientEvents {
  ready: (payload: { user: UserDto; conversation_ids: number[] }) => void;
  message: (message: MessageDto) => void;
  'conversation:new': (payload: { conversation: ConversationDto }) => void;
  typing: (payload: { conversation_id: number; user_id: number }) => void;
  read: (payload: { conversation_id: number; user_id: number; seq: number }) => void;
  'job:status': (job: JobDto) => void;
}

/** The legacy one-connection-per-conversation namespace: no conversation id in payloads. */
export interface LegacyClientToServerEvents {
  message: (payload: Omit<SendMessagePayload, 'conversation_id'>, ack?: AckCallback<{ message: MessageDto }>) => void;
}

export interface LegacyServerToClientEvents {
  message: (message: MessageDto) => void;
}

/** Events between hub pods (through the Redis adapter's serverSideEmit). */
export interface InterServerEvents {
  'legacy:message': (message: MessageDto) => void;
  'session:revoked': (sessionId: number) => void;
}

export interface SocketData {
  user: UserDto;
  sessionId: number;
}
