import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { listNoticesQuery, readNoticesBody } from '../../schemas/http.js';
import { noticeSchema } from '../../schemas/objects.js';

/** The caller's own notices: job ends they were not watching. */
const noticeRoutes: FastifyPluginAsyncZod = async (app) => {
  app.addHook('onRequest', app.requireAuth);
  const { notices } = app.services;

  app.get(
    '/api/notices',
    { schema: { querystring: listNoticesQuery, response: { 200: z.object({ notices: z.array(noticeSchema), has_more: z.boolean() }) } } },
    async (request) => notices.list(request.auth!.user, request.query.before_id, request.query.limit),
  );

  app.post('/api/notices/read', { schema: { body: readNoticesBody } }, async (request, reply) => {
    await notices.markRead(request.auth!.user, request.body.up_to_id);
    return reply.status(204).send();
  });
};

export default noticeRoutes;
