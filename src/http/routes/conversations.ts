import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { assertMember, listConversations, openConversation } from '../../domain/conversations.js';
import { history } from '../../domain/messages.js';
import { createConversationBody, historyQuery, idParams } from '../../schemas/http.js';
import { conversationSchema, messageSchema } from '../../schemas/objects.js';

const conversationReply = z.object({ conversation: conversationSchema });

/** Conversations over HTTP; a conversation the caller is not in answers 404. */
const conversationRoutes: FastifyPluginAsyncZod = async (app) => {
  app.addHook('onRequest', app.requireAuth);

  app.post(
    '/api/conversations',
    { schema: { body: createConversationBody, response: { 200: conversationReply, 201: conversationReply } } },
    async (request, reply) => {
      const { conversation, created } = await openConversation(app.db, app.dbHandle.sql, request.auth!.user.id, request.body);
      if (created) app.broadcaster.conversationCreated(conversation);
      return reply.status(created ? 201 : 200).send({ conversation });
    },
  );

  app.get(
    '/api/conversations',
    { schema: { response: { 200: z.object({ conversations: z.array(conversationSchema) }) } } },
    async (request) => ({ conversations: await listConversations(app.dbHandle.sql, request.auth!.user.id) }),
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
    async (request) => {
      const sql = app.dbHandle.sql;
      await assertMember(sql, request.params.id, request.auth!.user.id);
      return history(sql, request.params.id, request.query.before_seq ?? null, request.query.limit);
    },
  );
};

export default conversationRoutes;
