import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { rateLimited } from '../../errors.js';
import { authenticate, changePassword, register } from '../../domain/auth.js';
import { closeSession, openSession } from '../../domain/sessions.js';
import { toUserDto } from '../../domain/users.js';
import { changePasswordBody, loginBody, registerBody } from '../../schemas/http.js';
import { userSchema } from '../../schemas/objects.js';
import type { Config } from '../../config.js';

const userReply = z.object({ user: userSchema });
const FIFTEEN_MINUTES = 15 * 60_000;

/** Register, login, logout, me. Logout also disconnects the session's sockets on every pod. */
const authRoutes: FastifyPluginAsyncZod<{ config: Config }> = async (app, { config }) => {
  // Brute force: per client IP before the body is read, per account once the email is known.
  const perIp = app.rateLimit({ max: config.LOGIN_RATE_LIMIT_PER_IP, timeWindow: 60_000, keyGenerator: (r) => `ip:${r.ip}` });
  const perAccount = accountLimiter(app, config, (r) => accountKey(r.body));

  app.post('/api/auth/register', { onRequest: perIp, schema: { body: registerBody, response: { 201: userReply } } }, async (request, reply) => {
    const user = await register(app.db, request.body);
    const { token } = await openSession(app.db, user.id, config.SESSION_TTL_HOURS);
    app.sessions.setCookie(reply, token);
    return reply.status(201).send({ user: toUserDto(user) });
  });

  app.post('/api/auth/login', { onRequest: perIp, preHandler: perAccount, schema: { body: loginBody, response: { 200: userReply } } }, async (request, reply) => {
    const user = await authenticate(app.db, request.body.email, request.body.password);
    const { token } = await openSession(app.db, user.id, config.SESSION_TTL_HOURS);
    app.sessions.setCookie(reply, token);
    return { user: toUserDto(user) };
  });

  app.post('/api/auth/logout', { onRequest: app.requireAuth }, async (request, reply) => {
    const { session } = request.auth!;
    await closeSession(app.db, session.id);
    await app.broadcaster.disconnectSession(session.id);
    app.sessions.clearCookie(reply);
    return reply.status(204).send();
  });

  app.post(
    '/api/auth/password',
    { onRequest: [app.requireAuth], preHandler: perAccountOfSession(app, config), schema: { body: changePasswordBody } },
    async (request, reply) => {
      const { user, session } = request.auth!;
      const revoked = await changePassword(app.db, user, session.id, request.body);
      await Promise.all(revoked.map((id) => app.broadcaster.disconnectSession(id)));
      return reply.status(204).send();
    },
  );

  app.get('/api/me', { onRequest: app.requireAuth, schema: { response: { 200: userReply } } }, async (request) => ({
    user: toUserDto(request.auth!.user),
  }));
};

/** The per-account limiter's key: the email as the login form sent it, case-folded. */
function accountKey(body: unknown): string {
  const email = (body as { email?: unknown } | undefined)?.email;
  return typeof email === 'string' ? email.trim().toLowerCase() : 'none';
}

/** Password changes are limited per account too: a stolen session must not brute-force the old password. */
function perAccountOfSession(app: FastifyInstance, config: Config) {
  return accountLimiter(app, config, (r) => r.auth?.user.email.toLowerCase() ?? 'none');
}

/**
 * A second, per-account limit on a route that already has the per-IP one. `app.rateLimit`
 * runs once per request, so this one uses the plugin's `createRateLimit` check directly.
 */
function accountLimiter(app: FastifyInstance, config: Config, account: (r: FastifyRequest) => string) {
  const check = app.createRateLimit({
    max: config.LOGIN_RATE_LIMIT_PER_ACCOUNT,
    timeWindow: FIFTEEN_MINUTES,
    keyGenerator: (r) => `account:${account(r)}`,
  });
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const result = await check(request);
    if (result.isAllowed || !result.isExceeded) return;
    reply.header('retry-after', String(result.ttlInSeconds));
    throw rateLimited(`Too many attempts for this account; retry in ${result.ttlInSeconds} s`);
  };
}

export default authRoutes;
