import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { authenticate, changePassword, register } from '../../domain/auth.js';
import { LoginAttempts, networkOf } from '../../domain/login-attempts.js';
import { closeSession, openSession } from '../../domain/sessions.js';
import { toUserDto } from '../../domain/users.js';
import { changePasswordBody, loginBody, registerBody } from '../../schemas/http.js';
import { userSchema } from '../../schemas/objects.js';
import type { Config } from '../../config.js';

const userReply = z.object({ user: userSchema });

/** Register, login, logout, me. Logout also disconnects the session's sockets on every pod. */
const authRoutes: FastifyPluginAsyncZod<{ config: Config }> = async (app, { config }) => {
  // Brute force: every attempt per client network before the body is read; failures per account once it is known.
  const perIp = app.rateLimit({ max: config.LOGIN_RATE_LIMIT_PER_IP, timeWindow: 60_000, keyGenerator: (r) => `ip:${networkOf(r.ip)}` });
  const attempts = new LoginAttempts(
    app.redis,
    config.REDIS_PREFIX,
    { perAccountAndNetwork: config.LOGIN_RATE_LIMIT_PER_ACCOUNT, perAccount: config.LOGIN_RATE_LIMIT_PER_ACCOUNT_TOTAL },
    (err) => app.log.warn({ err: (err as Error).message }, 'login limiter unavailable; attempt let through'),
  );

  app.post('/api/auth/register', { onRequest: perIp, schema: { body: registerBody, response: { 201: userReply } } }, async (request, reply) => {
    const user = await register(app.dbHandle.sql, request.body);
    const { token } = await openSession(app.dbHandle.sql, user.id, config.SESSION_TTL_HOURS);
    app.sessions.setCookie(reply, token);
    return reply.status(201).send({ user: toUserDto(user) });
  });

  app.post('/api/auth/login', { onRequest: perIp, schema: { body: loginBody, response: { 200: userReply } } }, async (request, reply) => {
    const user = await authenticate(app.dbHandle.sql, attempts, request.body, request.ip);
    const { token } = await openSession(app.dbHandle.sql, user.id, config.SESSION_TTL_HOURS);
    app.sessions.setCookie(reply, token);
    return { user: toUserDto(user) };
  });

  app.post('/api/auth/logout', { onRequest: app.requireAuth }, async (request, reply) => {
    const { session } = request.auth!;
    await closeSession(app.dbHandle.sql, session.id);
    await app.broadcaster.disconnectSession(session.id);
    app.sessions.clearCookie(reply);
    return reply.status(204).send();
  });

  app.post('/api/auth/password', { onRequest: [app.requireAuth], schema: { body: changePasswordBody } }, async (request, reply) => {
    const { user, session } = request.auth!;
    const revoked = await changePassword(app.dbHandle.sql, attempts, { user, sessionId: session.id, ip: request.ip }, request.body);
    await Promise.all(revoked.map((id) => app.broadcaster.disconnectSession(id)));
    return reply.status(204).send();
  });

  app.get('/api/me', { onRequest: app.requireAuth, schema: { response: { 200: userReply } } }, async (request) => ({
    user: toUserDto(request.auth!.user),
  }));
};

export default authRoutes;
