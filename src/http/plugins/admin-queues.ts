import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../config.js';
import { notFound } from '../../errors.js';

export const ADMIN_QUEUES_PATH = '/admin/queues';

/**
 * Bull Board for operators, only for logged-in users whose id is in ADMIN_USER_IDS.
 * Anyone else gets 404, so the page does not reveal that it exists.
 * Read-only (every write route answers 405) unless ADMIN_BOARD_WRITE=true: a writable board
 * can pause the queue and rewrite jobs, so it is an operator's explicit choice.
 * Registered as an encapsulated plugin: its hooks guard only these routes.
 */
export async function adminQueues(app: FastifyInstance, { config }: { config: Config }): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(ADMIN_QUEUES_PATH);
  createBullBoard({ queues: [new BullMQAdapter(app.jobsQueue, { readOnlyMode: !config.ADMIN_BOARD_WRITE })], serverAdapter });

  const admins = new Set(config.ADMIN_USER_IDS);
  // Answered here rather than thrown: the board's routes have their own error handler.
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const auth = await app.sessionCookie.fromCookieHeader(request.headers.cookie);
    if (auth && admins.has(auth.user.id)) {
      request.auth = auth;
      return;
    }
    return reply.status(404).send({ error: notFound('Route').toBody() });
  });
  // The board's bundled UI uses inline bootstrapping that the site-wide CSP forbids.
  app.addHook('onSend', async (_request, reply) => {
    reply.removeHeader('content-security-policy');
  });
  await app.register(serverAdapter.registerPlugin(), { prefix: ADMIN_QUEUES_PATH });
}
