import type { FastifyBaseLogger } from 'fastify';
import type { Namespace, Server, Socket } from 'socket.io';
import type { ErrorBody } from '../errors.js';

/**
 * What a SIGTERM'd pod answers to an event that arrives after it stopped taking new ones: it
 * was not handled, so nothing was stored; the client retries it (on another pod once it moved).
 */
export const SHUTTING_DOWN: ErrorBody = { code: 'unavailable', message: 'The server is shutting down; nothing was stored; retry' };

export interface SocketDrain {
  /** Events received and being handled now, whose ack has not been sent yet. */
  pending(): number;
  /**
   * Stops taking connections and events, then waits until every event already received has
   * sent its ack, or until `deadlineMs`. Resolves with what was still pending then (0: drained).
   */
  drain(deadlineMs: number): Promise<number>;
}

/** How long a closing pod must have received no event before it closes its sockets. */
export const DRAIN_QUIET_MS = 500;

type AnyNamespace = Namespace<any, any, any, any>;
type AnySocket = Socket<any, any, any, any>;

/**
 * Counts, per pod, the socket events whose handler has not acked yet, so shutdown can let them
 * finish before the sockets are closed: `io.close()` alone disconnects every socket at once, and
 * an ack sent after that is dropped, though the message it answers may have been stored.
 * Only events with an ack callback and a handler are counted (nothing else has an end to wait for).
 */
export function trackSocketEvents(io: Server<any, any, any, any>, namespaces: readonly AnyNamespace[], log: FastifyBaseLogger, quietMs = DRAIN_QUIET_MS): SocketDrain {
  let inFlight = 0;
  let closing = false;
  let lastEventAt = 0;
  let onIdle: (() => void) | null = null;
  /** Per socket: its events in flight, and whether it was refused one (it leaves once they are done). */
  const perSocket = new WeakMap<AnySocket, { inFlight: number; leaving: boolean }>();
  const stateOf = (socket: AnySocket) => {
    let state = perSocket.get(socket);
    if (!state) perSocket.set(socket, (state = { inFlight: 0, leaving: false }));
    return state;
  };
  // Closes the transport, not the Socket.IO session: the client sees "transport close" and
  // reconnects by itself (to another pod), as it does when io.close() ends the rest.
  const leave = (socket: AnySocket) => socket.conn.close();
  const settled = (socket: AnySocket) => {
    inFlight--;
    const state = stateOf(socket);
    state.inFlight--;
    if (state.leaving && state.inFlight === 0) leave(socket);
    if (inFlight === 0) onIdle?.();
  };

  const track = (socket: AnySocket) => {
    socket.use((packet, next) => {
      lastEventAt = performance.now();
      const last = packet.length - 1;
      const ack = packet[last] as unknown;
      if (closing) {
        // Not handled at all: its ack says so, and once its earlier events have acked the
        // socket is let go, so the client retries it on another pod.
        if (typeof ack === 'function') (ack as (reply: unknown) => void)({ ok: false, error: SHUTTING_DOWN });
        const state = stateOf(socket);
        state.leaving = true;
        if (state.inFlight === 0) leave(socket);
        return;
      }
      if (typeof ack === 'function' && socket.listeners(String(packet[0])).length > 0) {
        inFlight++;
        stateOf(socket).inFlight++;
        let done = false;
        packet[last] = (...args: unknown[]) => {
          // The ack leaves first: settling may close this socket.
          (ack as (...a: unknown[]) => void)(...args);
          if (!done) {
            done = true;
            settled(socket);
          }
        };
      }
      next();
    });
  };
  for (const nsp of namespaces) nsp.on('connection', track);

  return {
    pending: () => inFlight,
    drain: async (deadlineMs) => {
      closing = true;
      // No new connection: a new engine.io handshake is refused (the client tries again, and a
      // load balancer sends it to another pod), and a namespace joined over an existing one too.
      io.engine.opts.allowRequest = (_req, callback) => callback('shutting down', false);
      for (const nsp of namespaces) nsp.use((_socket, next) => next(new Error('unavailable')));
      const started = performance.now();
      log.info({ pending: inFlight }, 'shutdown: no new socket events; waiting for those in flight to ack');
      // Done once nothing is in flight and no event came for `quietMs`: a client whose last ack
      // just left sends its next event within that time, and is told to go elsewhere instead
      // of having it cut off by the close.
      while (performance.now() - started < deadlineMs) {
        const quietFor = performance.now() - lastEventAt;
        if (inFlight === 0 && quietFor >= quietMs) break;
        const left = deadlineMs - (performance.now() - started);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(left, inFlight === 0 ? quietMs - quietFor : left));
          onIdle = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        onIdle = null;
      }
      if (inFlight > 0) log.warn({ pending: inFlight, deadlineMs }, 'shutdown: socket events still in flight at the drain deadline');
      return inFlight;
    },
  };
}
