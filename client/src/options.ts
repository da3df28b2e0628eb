import type { Socket } from 'socket.io-client';
import type { ClientToServerEvents, MarkerEvent, PresenceEvent, ReadyPayload, ServerToClientEvents, TypingEvent } from './protocol.js';
import type { OutboxStorage, OutgoingMessage, SendErrorCode } from './storage.js';
import type { Conversation, Job, Message, MessageType, Notice, OutputChunk } from './types.js';

export type InboxSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/**
 * Where the connection stands: `syncing` between a (re)connection and the end of the
 * catch-up that follows it, `live` once every missed message has been handed on, `closed`
 * after `close()` or when the hub refused or ended the session (no more reconnecting).
 */
export type ConnectionStatus = 'connecting' | 'syncing' | 'live' | 'reconnecting' | 'closed';

/**
 * What `ready` carried. The snapshot fields are empty when the hub does not send them
 * (an older hub sends only `user` and `conversation_ids`).
 */
export type ReadyInfo = ReadyPayload;

export interface InboxClientOptions {
  /**
   * Node only: headers sent with the handshake and HTTP calls, e.g. `{cookie: 'sessionid=...'}`.
   * Browsers send the hub's cookie themselves (the client sets `withCredentials`).
   */
  extraHeaders?: Record<string, string>;
  /** Socket.IO transports; its default is long-polling, then an upgrade to WebSocket. */
  transports?: ('polling' | 'websocket')[];
  /**
   * The last `seq` the app already shows per conversation (e.g. `last_message.seq` from
   * `GET /api/conversations`). A conversation without a cursor starts at 0, so its
   * whole history is delivered.
   */
  cursors?: Record<number, number>;
  /** Messages per `sync` round trip, 1..500; default 100. */
  syncLimit?: number;
  /** How long any request waits for its acknowledgement, ms; default 10000. */
  ackTimeoutMs?: number;
  /** Reconnection backoff bounds, ms, passed to Socket.IO; defaults 500 and 5000. */
  reconnectionDelay?: number;
  reconnectionDelayMax?: number;
  /** Wait before retrying a `sync` that failed while connected, ms; default 2000. */
  syncRetryMs?: number;
  /**
   * Where unacknowledged messages are kept across reloads. Default: IndexedDB in
   * browsers, else localStorage, else memory (Node).
   */
  storage?: OutboxStorage;
  /** The hub's `MAX_MESSAGE_LENGTH` in characters; longer messages fail locally. Default 4000. */
  maxMessageLength?: number;
  /** First retry delay of a send that timed out or met `unavailable`, ms (doubles, at most 30 s); default 1000. */
  sendRetryMs?: number;
  /** How long `delivered` markers are gathered before they are sent, ms; default 500. */
  deliveredDelayMs?: number;
}

/** Events the client hands to the app. `message` comes per conversation in `seq` order, once. */
export interface InboxClientEvents {
  ready: (info: ReadyInfo) => void;
  status: (status: ConnectionStatus) => void;
  message: (message: Message) => void;
  conversation: (conversation: Conversation) => void;
  typing: (event: TypingEvent) => void;
  read: (event: MarkerEvent) => void;
  delivered: (event: MarkerEvent) => void;
  presence: (event: PresenceEvent) => void;
  notice: (notice: Notice) => void;
  /** The outbox changed: a message was added, settled, failed or discarded. */
  outbox: (messages: OutgoingMessage[]) => void;
  error: (error: InboxClientError) => void;
}

export interface SendOptions {
  type?: MessageType;
  /** Pass the same id again to retry a send safely; one is generated when absent. */
  clientMsgId?: string;
}

/** What `send()` gives back at once. */
export interface SendHandle {
  /** The message as the outbox holds it now: `pending`, or `failed` when refused locally. */
  readonly outgoing: OutgoingMessage;
  /** Resolves with the stored message; rejects with an `InboxClientError` on a final failure. */
  readonly sent: Promise<Message>;
}

export interface JobWatchHandlers {
  /** The job's state when the watch begins, then after every change, each `seq` once. */
  onStatus: (job: Job) => void;
  /** Output chunks in `offset` order, each once, from the first (resumed across reconnects). */
  onOutput?: (chunks: OutputChunk[]) => void;
}

export interface JobWatch {
  /** The job's state when the watch began. */
  readonly job: Job;
  unwatch(): Promise<void>;
}

/** `code` is a contract error code, `timeout` (no acknowledgement) or `connect` (handshake refused). */
export class InboxClientError extends Error {
  override name = 'InboxClientError';
  constructor(
    readonly code: SendErrorCode | 'connect',
    message: string,
  ) {
    super(message);
  }
}
