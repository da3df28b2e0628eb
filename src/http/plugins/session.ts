import cookie from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../../config.js';
import type { AuthenticatedSession } from '../../domain/sessions.js';
import { unauthorized } from '../../errors.js';

export const SESSION_COOKIE = 'sessionid';

/** The `sessionid` cookie: read (for HTTP and the socket handshake), set and cleared. */
export interface SessionCookie {
  /** Resolves a raw `Cookie` header (HTTP or socket handshake) to a live session, or null. */
  fromCookieHeader(header: string | undefined): Promise<AuthenticatedSession | null>;
  setCookie(reply: FastifyReply, token: string): void;
  clearCookie(reply: FastifyReply): void;
}

declare module 'fastify' {
  interface FastifyInstance {
    sessionCookie: SessionCookie;
    /** onRequest hook for routes that need a logged-in user; sets `request.auth`. */
    requireAuth: (request: FastifyRequest) => Promise<void>;
  }
  interface FastifyRequest {
    auth: AuthenticatedSession | null;
  }
}

/** Signed, HttpOnly `sessionid` cookie backed by a revocable row in Postgres. */
export default fp<{ config: Config }>(
  async (app, { config }) => {
    await app.register(cookie, { secret: config.COOKIE_SECRET, hook: false });
    const cookieOptions = {
      path: '/',
      httpOnly: true,
      sameSite: 'lax' as const,
      secure: config.NODE_ENV === 'production',
      signed: true,
      maxAge: config.SESSION_TTL_HOURS * 3600,
    };

    const fromSignedValue = async (signed: string | undefined) => {
      if (!signed) return null;
      const unsigned = app.unsignCookie(signed);
      if (!unsigned.valid || !unsigned.value) return null;
      return app.services.sessions.resolve(unsigned.value);
    };

    const resolver: SessionCookie = {
      fromCookieHeader: (header) => fromSignedValue(header ? app.parseCookie(header)[SESSION_COOKIE] : undefined),
      setCookie: (reply, token) => void reply.setCookie(SESSION_COOKIE, token, cookieOptions),
      clearCookie: (reply) => void reply.clearCookie(SESSION_COOKIE, { path: '/' }),
    };

    app.decorate('sessionCookie', resolver);
    app.decorateRequest('auth', null);
    app.decorate('requireAuth', async (request: FastifyRequest) => {
      request.auth = await resolver.fromCookieHeader(request.headers.cookie);
      if (!request.auth) throw unauthorized();
    });
  },
  { name: 'session', dependencies: ['services'] },
);
