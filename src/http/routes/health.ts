import type { FastifyPluginAsync } from 'fastify';

const PING_TIMEOUT_MS = 2000;

/** Liveness and readiness: /readyz really asks Postgres and Redis, with a deadline. */
const healthRoutes: FastifyPluginAsync = async (app) => {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const [postgres, redis] = await Promise.all([
      probe(() => app.dbHandle.ping()),
      probe(() => app.redis.ping()),
    ]);
    const down = [postgres ? null : 'postgres', redis ? null : 'redis'].filter(Boolean);
    if (down.length === 0) return { status: 'ready', postgres: 'up', redis: 'up' };
    return reply.status(503).send({
      error: { code: 'unavailable', message: `Not ready: ${down.join(' and ')} not answering` },
      postgres: postgres ? 'up' : 'down',
      redis: redis ? 'up' : 'down',
    });
  });
};

async function probe(ping: () => Promise<unknown>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), PING_TIMEOUT_MS);
  });
  try {
    await Promise.race([ping(), timeout]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

export default healthRoutes;
