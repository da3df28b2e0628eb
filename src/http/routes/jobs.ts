import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { cancelJob, getOwnJob, listOwnJobs } from '../../domain/jobs.js';
import { createJobBody, jobIdParams, listJobsQuery } from '../../schemas/http.js';
import { jobSchema } from '../../schemas/objects.js';

const jobReply = z.object({ job: jobSchema });

/** The caller's jobs; another user's job answers 404 like an unknown one. */
const jobRoutes: FastifyPluginAsyncZod = async (app) => {
  app.addHook('onRequest', app.requireAuth);

  app.post('/api/jobs', { schema: { body: createJobBody, response: { 202: jobReply } } }, async (request, reply) => {
    const { name, data } = request.body;
    const job = await app.jobs.enqueue({ name, data, ownerId: request.auth!.user.id });
    return reply.status(202).send({ job });
  });

  app.get(
    '/api/jobs',
    { schema: { querystring: listJobsQuery, response: { 200: z.object({ jobs: z.array(jobSchema) }) } } },
    async (request) => ({ jobs: await listOwnJobs(app.jobs.sql, request.auth!.user.id, request.query.limit) }),
  );

  app.get('/api/jobs/:id', { schema: { params: jobIdParams, response: { 200: jobReply } } }, async (request) => ({
    job: await getOwnJob(app.jobs.sql, request.auth!.user.id, request.params.id),
  }));

  app.post('/api/jobs/:id/cancel', { schema: { params: jobIdParams, response: { 202: jobReply } } }, async (request, reply) => {
    const job = await cancelJob(app.jobs, request.auth!.user.id, request.params.id);
    return reply.status(202).send({ job });
  });
};

export default jobRoutes;
