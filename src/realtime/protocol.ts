/**
 * The wire contract of the `/inbox` and `/chat/<id>` namespaces as the hub implements it,
 * shared by the hub, the workers' emitter and the tests: the four typed event maps, written
 * once, with every payload and ack derived from the zod schemas that validate or describe it
 * (src/schemas/). Type-only imports: nothing of zod or the server reaches a bundle that imports
 * these types. Frontends use the typed client package (`client/`, `@inbox-hub/client`), which
 * carries its own copy of these types with no server code; test/client/contract-drift.test.ts
 * keeps the two in step.
 */
import type { z } from 'zod';
import type { ErrorBody } from '../errors.js';
import type { MessageType } from '../schemas/common.js';
import type { ConversationDto, JobDto, MessageDto, PeerDto, UserDto } from '../schemas/objects.js';
import type * as socket from '../schemas/socket.js';

export type { ConversationDto, MessageDto, PeerDto, UserDto, ErrorBody, JobDto };
export type MessageKind = MessageType;

/** Every acknowledgement: `{ok: true, ...fields}` or `{ok: false, error}`. */
export type Ack<T extends object = object> = ({ ok: true } & T) | { ok: false; error: ErrorBody };
export type AckCallback<T extends object = object> = (ack: Ack<T>) => void;

/** What a client sends: the input of the schema that validates it. */
export type SendMessagePayload = z.input<typeof socket.sendMessagePayload>;
/** Its output: `cursors` is checked as a raw object first, so its input type says nothing. */
export type SyncPayload = z.output<typeof socket.syncPayload>;
export type ConversationPayload = z.input<typeof socket.conversationPayload>;
export type ReadPayload = z.input<typeof socket.readPayload>;
export type DeliveredPayload = z.input<typeof socket.deliveredPayload>;
export type JobPayload = z.input<typeof socket.jobPayload>;
export type JobWatchPayload = z.input<typeof socket.jobWatchPayload>;
export type LegacySendMessagePayload = z.input<typeof socket.legacyMessagePayload>;

export type MessageResult = z.output<typeof socket.messageResult>;
export type SyncResult = z.output<typeof socket.syncResult>;
export type JobWatchResult = z.output<typeof socket.jobWatchResult>;

export type ReadyPayload = z.output<typeof socket.readyEvent>;
export type ConversationNewPayload = z.output<typeof socket.conversationNewEvent>;
export type TypingPayload = z.output<typeof socket.typingEvent>;
export type ReadEventPayload = z.output<typeof socket.readEvent>;
export type DeliveredEventPayload = z.output<typeof socket.deliveredEvent>;
export type JobOutputPayload = z.output<typeof socket.jobOutputEvent>;
export type NoticeNewPayload = z.output<typeof socket.noticeNewEvent>;
export type PresencePayload = z.output<typeof socket.presenceEvent>;
export type ResyncPayload = z.output<typeof socket.resyncEvent>;

export interface ClientToServerEvents {
  message: (payload: SendMessagePayload, ack: AckCallback<MessageResult>) => void;
  sync: (payload: SyncPayload, ack: AckCallback<SyncResult>) => void;
  typing: (payload: ConversationPayload, ack: AckCallback) => void;
  read: (payload: ReadPayload, ack: AckCallback) => void;
  delivered: (payload: DeliveredPayload, ack: AckCallback) => void;
  'job:watch': (payload: JobWatchPayload, ack: AckCallback<JobWatchResult>) => void;
  'job:unwatch': (payload: JobPayload, ack: AckCallback) => void;
}

export interface ServerToClientEvents {
  ready: (payload: ReadyPayload) => void;
  message: (message: MessageDto) => void;
  'conversation:new': (payload: ConversationNewPayload) => void;
  typing: (payload: TypingPayload) => void;
  read: (payload: ReadEventPayload) => void;
  delivered: (payload: DeliveredEventPayload) => void;
  presence: (payload: PresencePayload) => void;
  'job:status': (job: JobDto) => void;
  'job:output': (payload: JobOutputPayload) => void;
  'notice:new': (payload: NoticeNewPayload) => void;
  resync: (payload: ResyncPayload) => void;
}

/** The legacy one-connection-per-conversation namespace: no conversation id in payloads. */
export interface LegacyClientToServerEvents {
  message: (payload: LegacySendMessagePayload, ack?: AckCallback<MessageResult>) => void;
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
