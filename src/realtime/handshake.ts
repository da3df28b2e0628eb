import type { FastifyBaseLogger } from 'fastify';
import type { Socket } from 'socket.io';
import type { AuthenticatedSession } from '../domain/sessions.js';
import { toUserDto } from '../domain/users.js';
import { isAllowedOrigin, logRefusedOrigin, type OriginPolicy } from '../origin.js';
import { withDeadline } from './ack.js';

type Next = (err?: Error) => void;

/** Resolves a raw `Cookie` header to its live session, or null (the HTTP session plugin gives it). */
export type SessionFromCookie<S extends AuthenticatedSession = AuthenticatedSession> = (cookieHeader: string | undefined) => Promise<S | null>;

/**
 * A session lookup is one indexed read; one that has not answered by now is waiting on a
 * frozen or unreachable Postgres. The client gets `unavailable` and retries, instead of
 * holding a half-open connection until its own connect timeout.
 */
export const HANDSHAKE_DEADLINE_MS = 8000;

const TIMED_OUT = Symbol('timed out');

/**
 * Namespace middleware: a browser Origin the hub does not trust (see OriginPolicy) is refused
 * before the cookie is even read (cross-site WebSocket hijacking), then the session cookie is resolved.
 * `accepted` sees what the lookup gave beyond the session (the /inbox lookup's conversation ids).
 */
export function authenticateHandshake<S extends AuthenticatedSession>(
  sessionFromCookie: SessionFromCookie<S>,
  origins: OriginPolicy,
  log: FastifyBaseLogger,
  accepted: (socket: Socket, auth: S) => void = () => {},
  deadlineMs = HANDSHAKE_DEADLINE_MS,
) {
  return async (socket: Socket, next: Next): Promise<void> => {
    const { origin, host } = socket.handshake.headers;
    if (!isAllowedOrigin(origin, host, origins)) {
      logRefusedOrigin(log, origin!, `socket handshake ${socket.nsp.name}`);
      return next(new Error('forbidden_origin'));
    }
    let auth: S | null | typeof TIMED_OUT;
    try {
      const lookup: Promise<typeof auth> = sessionFromCookie(socket.handshake.headers.cookie);
      auth = await withDeadline(lookup, deadlineMs, () => TIMED_OUT);
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'handshake failed: session store unavailable');
      return next(new Error('unavailable'));
    }
    if (auth === TIMED_OUT) {
      log.warn({ deadlineMs }, 'handshake failed: session store did not answer in time');
      return next(new Error('unavailable'));
    }
    if (!auth) return next(new Error('unauthorized'));
    socket.data.user = toUserDto(auth.user);
    socket.data.sessionId = auth.session.id;
    accepted(socket, auth);
    next();
  };
}
