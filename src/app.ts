import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Config } from './config.js';
import { installErrorHandlers } from './http/error-handler.js';
import { adminQueues } from './http/plugins/admin-queues.js';
import dbPlugin from './http/plugins/db.js';
import docsPlugin from './http/plugins/docs.js';
import jobMetrics from './http/plugins/job-metrics.js';
import metricsPlugin from './http/plugins/metrics.js';
import originGuard from './http/plugins/origin-guard.js';
import queuesPlugin from './http/plugins/queues.js';
import realtimePlugin from './http/plugins/realtime.js';
import redisPlugin from './http/plugins/redis.js';
import securityPlugin from './http/plugins/security.js';
import servicesPlugin from './http/plugins/services.js';
import sessionPlugin from './http/plugins/session.js';
import socketIoPlugin from './http/plugins/socket-io.js';
import staticSite from './http/plugins/static-site.js';
import authRoutes from './http/routes/auth.js';
import conversationRoutes from './http/routes/conversations.js';
import healthRoutes from './http/routes/health.js';
import jobRoutes from './http/routes/jobs.js';
import noticeRoutes from './http/routes/notices.js';
import userRoutes from './http/routes/users.js';
import { loggerOptions } from './logger.js';
import { jobWatchHandlers } from './realtime/inbox/job-watch.js';

export interface BuildOptions {
  /** Override pino options (tests pass `false`). */
  logger?: boolean | object;
}

/**
 * The longest an HTTP request waits for its answer (hooks included): statements time out
 * after 5 s and pool connects after 5 s, so only a Postgres or Redis that took the request
 * and then stopped answering (frozen, partitioned) gets here; the client gets 503
 * `unavailable` instead of a hung request. Same bound as the socket ack deadline.
 */
export const REQUEST_DEADLINE_MS = 10_000;

/** Builds the hub exactly as production runs it; no side effects until called, never listens. */
export async function buildApp(config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? loggerOptions(config),
    trustProxy: config.TRUST_PROXY,
    bodyLimit: Math.max(64 * 1024, config.MAX_MESSAGE_LENGTH * 4 + 4096),
    requestIdHeader: 'x-request-id',
    handlerTimeout: REQUEST_DEADLINE_MS,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandlers(app);
  acceptEmptyJsonBodies(app);

  await app.register(metricsPlugin, { config });
  await app.register(dbPlugin, { config });
  await app.register(redisPlugin, { config });
  await app.register(originGuard, { config });
  await app.register(securityPlugin, { config });
  // The Broadcaster and the queue first: the services publish and enqueue through them; the
  // sockets are served last, over the services and the session cookie.
  await app.register(socketIoPlugin, { config });
  await app.register(queuesPlugin, { config });
  await app.register(servicesPlugin, { config });
  await app.register(sessionPlugin, { config });
  await app.register(realtimePlugin, { config, inboxHandlers: [jobWatchHandlers] });
  await app.register(jobMetrics, { config });

  await app.register(docsPlugin);
  await app.register(healthRoutes);
  await app.register(authRoutes, { config });
  await app.register(conversationRoutes, { config });
  await app.register(jobRoutes);
  await app.register(noticeRoutes);
  await app.register(userRoutes);
  await app.register(adminQueues, { config });
  await app.register(staticSite);
  return app;
}

/** `POST /api/auth/logout` with `content-type: application/json` and no body is normal client behaviour. */
function acceptEmptyJsonBodies(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') return done(null, undefined);
    parseJson(request, body as string, done);
  });
}
