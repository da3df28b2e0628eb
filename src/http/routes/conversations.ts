import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Config } from '../../config.js';
import type { NewConversationQuota } from '../../domain/conversations.js';
import { rateLimited } from '../../errors.js';
import { createConversationBody, historyQuery, idParams } from '../../schemas/http.js';
import { conversationSchema, messageSchema } from '../../schemas/objects.js';

const conversationReply = z.object({ conversation: conversationSchema });
const ONE_HOUR = 3600_000;

/** Conversations over HTTP; a conversation the caller is not in answers 404. */
const conversationRoutes: FastifyPluginAsyncZod<{ config: Config }> = async (app, { config }) => {
  app.addHook('onRequest', app.requireAuth);
  const { conversations, messages } = app.services;
  const quotaFor = newConversationQuota(app, config);

  app.post(
    '/api/conversations',
    { schema: { body: createConversationBody, response: { 200: conversationReply, 201: conversationReply } } },
    async (request, reply) => {
      const { conversation, created } = await conversations.open(request.auth!.user, request.body, quotaFor(request, reply));
      return reply.status(created ? 201 : 200).send({ conversation });
    },
  );

  app.get(
    '/api/conversations',
    { schema: { response: { 200: z.object({ conversations: z.array(conversationSchema) }) } } },
    async (request) => ({ conversations: await conversations.list(request.auth!.user) }),
  );

  app.get(
    '/api/conversations/:id/messages',
    {
      schema: {
        params: idParams,
        querystring: historyQuery,
        response: { 200: z.object({ messages: z.array(messageSchema), has_more: z.boolean() }) },
      },
    },
    async (request) => messages.history(request.auth!.user, request.params.id, request.query),
  );
};

/**
 * CONVERSATION_RATE_LIMIT new conversations per user per hour, counted in Redis so the limit
 * holds across pods: opening one pushes it into the other user's inbox, so unlimited it is
 * spam (and, before peers had no email, it listed every account's email).
 */
function newConversationQuota(app: FastifyInstance, config: Config) {
  const check = app.createRateLimit({
    max: config.CONVERSATION_RATE_LIMIT,
    timeWindow: ONE_HOUR,
    keyGenerator: (r) => `conversations:user:${r.auth!.user.id}`,
  });
  return (request: FastifyRequest, reply: FastifyReply): NewConversationQuota => async () => {
    const result = await check(request);
    if (result.isAllowed || !result.isExceeded) return;
    reply.header('retry-after', String(result.ttlInSeconds));
    throw rateLimited(`Too many new conversations; retry in ${result.ttlInSeconds} s`);
  };
}

export default conversationRoutes;
