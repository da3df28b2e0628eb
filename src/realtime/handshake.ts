import type { FastifyBaseLogger } from 'fastify';
import type { Socket } from 'socket.io';
import type { SessionResolver } from '../http/plugins/session.js';
import { isAllowedOrigin } from '../http/plugins/origin-guard.js';
import { toUserDto } from '../domain/users.js';

type Next = (err?: Error) => void;

/**
 * Namespace middleware: a browser Origin outside ALLOWED_ORIGINS is refused before the
 * cookie is even read (cross-site WebSocket hijacking), then the session cookie is resolved.
 */
export function authenticateHandshake(sessions: SessionResolver, allowedOrigins: readonly string[], log: FastifyBaseLogger) {
  return async (socket: Socket, next: Next): Promise<void> => {
    if (!isAllowedOrigin(socket.handshake.headers.origin, allowedOrigins)) return next(new Error('forbidden_origin'));
    try {
      const auth = await sessions.fromCookieHeader(socket.handshake.headers.cookie);
      if (!auth) return next(new Error('unauthorized'));
      socket.data.user = toUserDto(auth.user);
      socket.data.sessionId = auth.session.id;
      next();
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'handshake failed: session store unavailable');
      next(new Error('unavailable'));
    }
  };
}
