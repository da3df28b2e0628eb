import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { authenticate, register } from '../../domain/auth.js';
import { closeSession, openSession } from '../../domain/sessions.js';
import { toUserDto } from '../../domain/users.js';
import { loginBody, registerBody } from '../../schemas/http.js';
import { userSchema } from '../../schemas/objects.js';
import type { Config } from '../../config.js';

const userReply = z.object({ user: userSchema });

/** Register, login, logout, me. Logout also disconnects the session's sockets on every pod. */
const authRoutes: FastifyPluginAsyncZod<{ config: Config }> = async (app, { config }) => {
  app.post('/api/auth/register', { schema: { body: registerBody, response: { 201: userReply } } }, async (request, reply) => {
    const user = await register(app.db, request.body);
    const { token } = await openSession(app.db, user.id, config.SESSION_TTL_HOURS);
    app.sessions.setCookie(reply, token);
    return reply.status(201).send({ user: toUserDto(user) });
  });

  app.post('/api/auth/login', { schema: { body: loginBody, response: { 200: userReply } } }, async (request, reply) => {
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

  app.get('/api/me', { onRequest: app.requireAuth, schema: { response: { 200: userReply } } }, async (request) => ({
    user: toUserDto(request.auth!.user),
  }));
};

export default authRoutes;
