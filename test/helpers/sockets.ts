import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, ReadyPayload, ServerToClientEvents } from '../../src/realtime/protocol.js';

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface ConnectOptions {
  transports?: ('polling' | 'websocket')[];
  origin?: string;
  namespace?: string;
}

/** Connects to `/inbox` (or another namespace) with a cookie; resolves on connect, rejects on connect_error. */
export function connect(baseUrl: string, cookie: string | undefined, opts: ConnectOptions = {}): Promise<ClientSocket> {
  const extraHeaders: Record<string, string> = {};
  if (cookie) extraHeaders.cookie = cookie;
  if (opts.origin) extraHeaders.origin = opts.origin;
  const socket: ClientSocket = io(`${baseUrl}${opts.namespace ?? '/inbox'}`, {
    extraHeaders,
    transports: opts.transports ?? ['websocket'],
    reconnection: false,
    forceNew: true,
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (err) => {
      socket.close();
      reject(err);
    });
  });
}

/** Connects to /inbox and waits for `ready` (registered before the connection completes). */
export async function connectInbox(baseUrl: string, cookie: string, opts: ConnectOptions = {}) {
  const extraHeaders: Record<string, string> = { cookie };
  if (opts.origin) extraHeaders.origin = opts.origin;
  const socket: ClientSocket = io(`${baseUrl}/inbox`, {
    extraHeaders,
    transports: opts.transports ?? ['websocket'],
    reconnection: false,
    forceNew: true,
  });
  const ready = await new Promise<ReadyPayload>((resolve, reject) => {
    socket.once('ready', resolve);
    socket.once('connect_error', reject);
  });
  return { socket, ready };
}

/** Resolves with the next `event` payload matching `predicate`; rejects after `timeoutMs`. */
export function waitFor<E extends keyof ServerToClientEvents>(
  socket: ClientSocket,
  event: E,
  predicate: (payload: Parameters<ServerToClientEvents[E]>[0]) => boolean = () => true,
  timeoutMs = 5000,
): Promise<Parameters<ServerToClientEvents[E]>[0]> {
  return new Promise((resolve, reject) => {
    const listener = (payload: Parameters<ServerToClientEvents[E]>[0]) => {
      if (!predicate(payload)) return;
      clearTimeout(timer);
      socket.off(event, listener as never);
      resolve(payload);
    };
    const timer = setTimeout(() => {
      socket.off(event, listener as never);
      reject(new Error(`timed out waiting for ${String(event)}`));
    }, timeoutMs);
    socket.on(event, listener as never);
  });
}

/** Collects every payload of `event` into an array, for ordering and no-duplicate checks. */
export function collect<E extends keyof ServerToClientEvents>(socket: ClientSocket, event: E) {
  const items: Parameters<ServerToClientEvents[E]>[0][] = [];
  socket.on(event, ((payload: Parameters<ServerToClientEvents[E]>[0]) => items.push(payload)) as never);
  return items;
}

/** Emits with an acknowledgement and resolves with it (socket.io's built-in ack timeout). */
export function request(socket: ClientSocket, event: string, payload: unknown, timeoutMs = 5000): Promise<any> {
  return (socket as unknown as Socket).timeout(timeoutMs).emitWithAck(event, payload);
}
