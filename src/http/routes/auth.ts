import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { networkOf } from '../../domain/login-attempts.js';
import { toUserDto } from '../../domain/users.js';
import { changePasswordBody, loginBody, registerBody } from '../../schemas/http.js';
import { userSchema } from '../../schemas/objects.js';
import type { Config } from '../../config.js';

const userReply = z.object({ user: userSchema });

/** Register, login, logout, me. Logout also disconnects the session's sockets on every pod. */
const authRoutes: FastifyPluginAsyncZod<{ config: Config }> = async (app, { config }) => {
  const { auth } = app.services;
  // Brute force: every attempt per client network before the body is read; failures per account once it is known.
  const perIp = app.rateLimit({ max: config.LOGIN_RATE_LIMIT_PER_IP, timeWindow: 60_000, keyGenerator: (r) => `ip:${networkOf(r.ip)}` });

  app.post('/api/auth/register', { onRequest: perIp, schema: { body: registerBody, response: { 201: userReply } } }, async (request, reply) => {
    const { user, token } = await auth.register(request.body);
    app.sessionCookie.setCookie(reply, token);
    return reply.status(201).send({ user });
  });

  app.post('/api/auth/login', { onRequest: perIp, schema: { body: loginBody, response: { 200: userReply } } }, async (request, reply) => {
    const { user, token } = await auth.login(request.body, request.ip);
    app.sessionCookie.setCookie(reply, token);
    return { user };
  });

  app.post('/api/auth/logout', { onRequest: app.requireAuth }, async (request, reply) => {
    await auth.logout(request.auth!);
    app.sessionCookie.clearCookie(reply);
    return reply.status(204).send();
  });

  app.post('/api/auth/password', { onRequest: [app.requireAuth], schema: { body: changePasswordBody } }, async (request, reply) => {
    await auth.changePassword(request.auth!, request.ip, request.body);
    return reply.status(204).send();
  });

  app.get('/api/me', { onRequest: app.requireAuth, schema: { response: { 200: userReply } } }, async (request) => ({
    user: toUserDto(request.auth!.user),
  }));
};

export default authRoutes;
