import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { peerSchema } from '../../schemas/objects.js';

const LOOKUPS_PER_MINUTE = 30;

/**
 * `GET /api/users/lookup?email=`: finds the user to start a conversation with, by exact
 * email, and answers them as a `peer` (the caller knows the email already; the reply never
 * carries one). Not in the contract; only for logged-in users, and rate-limited per user so it
 * cannot be used to list accounts (registration already answers 409 for a taken email).
 */
const userRoutes: FastifyPluginAsyncZod = async (app) => {
  const perUser = app.rateLimit({
    max: LOOKUPS_PER_MINUTE,
    timeWindow: 60_000,
    keyGenerator: (r) => `lookup:${r.auth?.user.id ?? r.ip}`,
  });
  app.get(
    '/api/users/lookup',
    {
      onRequest: [app.requireAuth, perUser],
      schema: { querystring: z.object({ email: z.email().max(254) }), response: { 200: z.object({ peer: peerSchema }) } },
    },
    async (request) => ({ peer: await app.services.users.findPeerByEmail(request.auth!.user, request.query.email) }),
  );
};

export default userRoutes;
