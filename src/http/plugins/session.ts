import cookie from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../../config.js';
import type { AuthenticatedSession, InboxSession } from '../../domain/sessions.js';
import { unauthorized } from '../../errors.js';

export const SESSION_COOKIE = 'sessionid';

/** The `sessionid` cookie: read (for HTTP and the socket handshake), set and cleared. */
export interface SessionCookie {
  /** Resolves a raw `Cookie` header (HTTP or socket handshake) to a live session, or null. */
  fromCookieHeader(header: string | undefined): Promise<AuthenticatedSession | null>;
  /** The same, with the user's conversation ids read in the same statement (the /inbox handshake). */
  inboxFromCookieHeader(header: string | undefined): Promise<InboxSession | null>;
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

    /** The raw token of a `Cookie` header's signed `sessionid`, or null (absent, forged, tampered). */
    const tokenOf = (header: string | undefined): string | null => {
      const signed = header ? app.parseCookie(header)[SESSION_COOKIE] : undefined;
      if (!signed) return null;
      const unsigned = app.unsignCookie(signed);
      return unsigned.valid && unsigned.value ? unsigned.value : null;
    };

    const resolver: SessionCookie = {
      fromCookieHeader: async (header) => {
        const token = tokenOf(header);
        return token === null ? null : app.services.sessions.resolve(token);
      },
      inboxFromCookieHeader: async (header) => {
        const token = tokenOf(header);
        return token === null ? null : app.services.sessions.resolveWithConversations(token);
      },
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
