import type { Socket } from 'socket.io-client';
import type {
  ClientToServerEvents,
  ConversationDto,
  ErrorBody,
  JobDto,
  MessageDto,
  ServerToClientEvents,
  UserDto,
} from '../realtime/protocol.js';

export type InboxSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/**
 * Where the connection stands: `syncing` between a (re)connection and the end of the
 * catch-up that follows it, `live` once every missed message has been handed on, `closed`
 * after `close()` or when the hub refused or ended the session (no more reconnecting).
 */
export type ConnectionStatus = 'connecting' | 'syncing' | 'live' | 'reconnecting' | 'closed';

export interface ReadyInfo {
  user: UserDto;
  conversation_ids: number[];
}

export interface InboxClientOptions {
  /**
   * Node only: headers sent with the handshake, e.g. `{cookie: 'sessionid=...'}`.
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
}

/** Events the client hands to the app. `message` comes per conversation in `seq` order, once. */
export interface InboxClientEvents {
  ready: (info: ReadyInfo) => void;
  status: (status: ConnectionStatus) => void;
  message: (message: MessageDto) => void;
  conversation: (conversation: ConversationDto) => void;
  typing: (event: { conversation_id: number; user_id: number }) => void;
  read: (event: { conversation_id: number; user_id: number; seq: number }) => void;
  error: (error: InboxClientError) => void;
}

export interface SendOptions {
  type?: 'TEXT' | 'IMAGE' | 'FILE';
  /** Pass the same id again to retry a send safely; one is generated when absent. */
  clientMsgId?: string;
}

export interface JobWatch {
  /** The job's state when the watch began. */
  readonly job: JobDto;
  unwatch(): Promise<void>;
}

/** `code` is a contract error code, `timeout` (no acknowledgement) or `connect` (handshake refused). */
export class InboxClientError extends Error {
  override name = 'InboxClientError';
  constructor(
    readonly code: ErrorBody['code'] | 'timeout' | 'connect',
    message: string,
  ) {
    super(message);
  }
}
