import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { notFound } from '../../errors.js';
import { createJobBody, jobIdParams, listJobsQuery } from '../../schemas/http.js';
import { jobSchema } from '../../schemas/objects.js';

const jobReply = z.object({ job: jobSchema });

/** The caller's jobs; another user's job answers 404 like an unknown one. */
const jobRoutes: FastifyPluginAsyncZod = async (app) => {
  app.addHook('onRequest', app.requireAuth);
  const { jobs, conversationExport } = app.services;

  app.post('/api/jobs', { schema: { body: createJobBody, response: { 202: jobReply } } }, async (request, reply) => {
    const { name, data } = request.body;
    const job = await jobs.enqueue({ name, data, ownerId: request.auth!.user.id });
    return reply.status(202).send({ job });
  });

  app.get(
    '/api/jobs',
    { schema: { querystring: listJobsQuery, response: { 200: z.object({ jobs: z.array(jobSchema) }) } } },
    async (request) => ({ jobs: await jobs.list(request.auth!.user, request.query.limit) }),
  );

  app.get('/api/jobs/:id', { schema: { params: jobIdParams, response: { 200: jobReply } } }, async (request) => ({
    job: await jobs.get(request.auth!.user, request.params.id),
  }));

  app.post('/api/jobs/:id/cancel', { schema: { params: jobIdParams, response: { 202: jobReply } } }, async (request, reply) => {
    const job = await jobs.cancel(request.auth!.user, request.params.id);
    return reply.status(202).send({ job });
  });

  /** Not in the contract: downloads a finished export (JSON lines of contract messages). */
  // A large export on a slow link streams for longer than the request deadline; the lookup before it is one read.
  app.get('/api/jobs/:id/download', { schema: { params: jobIdParams }, handlerTimeout: 60 * 60_000 }, async (request, reply) => {
    const file = await conversationExport.fileOf(request.auth!.user, request.params.id);
    const stream = createReadStream(file);
    await new Promise<void>((ok, fail) => stream.once('open', () => ok()).once('error', fail)).catch(() => {
      throw notFound('Export');
    });
    return reply
      .type('application/x-ndjson; charset=utf-8')
      .header('content-disposition', `attachment; filename="${basename(file)}"`)
      .send(stream);
  });
};

export default jobRoutes;
